# Sourced by the lab scripts: installing Debian packages the same way everywhere.
#   installed <pkg>                  is the package installed?
#   missing_packages <pkg...>        the ones that are not, one per line
#   apt_install <logfile> <pkg...>   installs them without letting the packages' maintainer scripts
#                                    start any daemon (the lab starts its own), refreshing the
#                                    package lists first when there are none (or LAB_APT_UPDATE is
#                                    set) and once more after a failed install; non-zero on failure.

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing_packages() { local p; for p in "$@"; do installed "$p" || echo "$p"; done; }

apt_install() {
  local logf=$1 rc=0 made_policy=0
  shift
  local opts=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1
  fi
  if [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep _Packages | head -1)" ] || [ -n "${LAB_APT_UPDATE:-}" ]; then
    apt-get update -q >>"$logf" 2>&1 || true
  fi
  apt-get install "${opts[@]}" "$@" >>"$logf" 2>&1 || rc=$?
  if [ $rc -ne 0 ]; then
    rc=0
    apt-get update -q >>"$logf" 2>&1 || true
    apt-get install "${opts[@]}" "$@" >>"$logf" 2>&1 || rc=$?
  fi
  [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  return $rc
}
