#!/usr/bin/env bash
# Side-by-side engine builds for the upgrade tests (openstack database instance upgrade): the
# machine's engines are one version each; this unpacks another into a directory of its own,
# which a guest names in [mariadb] version_dirs (the all-in-one registers each as a datastore
# version). Idempotent, cached under the state dir; prints the directories it made.
#   MariaDB: Debian bookworm's previous 10.11 patch release (its mariadb-server-core and
#   mariadb-client-core, `apt-get download` + `dpkg-deb -x`), beside the installed one.
#   PostgreSQL: an older major than bookworm's 15, Debian bullseye's postgresql-13 (+ its client
#   and the shared libraries bookworm no longer has: libssl1.1, libicu67, libldap-2.4-2, and for
#   JIT libllvm11 with libffi7: a server that finds llvmjit.so but cannot load it fails the
#   expensive queries that try JIT, e.g. pg_rewind's file list), fetched
#   with an apt configuration of its own under the state dir (its own sources list, lists and
#   cache: the machine's apt sources are never touched). Bookworm lacks those libraries, so every
#   ELF program in the build's bin/ becomes a small wrapper setting LD_LIBRARY_PATH to the build's
#   own library directory for that process only, then exec'ing the real program (<name>.real,
#   under its own name: postgres finds its share/ and lib/ relative to itself).
#   Redis: an older release than bookworm's 7.0, Debian bullseye's 6.0 the same way (below).
#   tools/lab/engine-versions.sh [state dir]     (default /var/lib/trove-ts-lab/engine-versions)
set -euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
log() { printf '[engine-versions.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
STATE="${1:-${TROVE_ENGINE_VERSIONS_DIR:-/var/lib/trove-ts-lab/engine-versions}}"
mkdir -p "$STATE"

# the installed MariaDB's version, and the other 10.11 release apt knows (the older one)
installed=$(dpkg-query -W -f '${Version}' mariadb-server-core 2>/dev/null || true)
[ -n "$installed" ] || { log "mariadb-server-core is not installed"; exit 1; }
other=$(apt-cache madison mariadb-server-core | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep -vx "$installed" | sort -V | tail -1)
[ -n "$other" ] || { log "apt knows no other mariadb-server-core than $installed (apt-get update?)"; exit 1; }
plain=$(sed -E 's/^[0-9]+://; s/-.*//' <<<"$other")
dir="$STATE/mariadb-$plain"
if [ ! -x "$dir/usr/sbin/mariadbd" ]; then
  log "unpacking MariaDB $other into $dir (first run only)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download -q "mariadb-server-core=$other" "mariadb-client-core=$other" >&2)
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$dir.tmp"; done
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
"$dir/usr/sbin/mariadbd" --version | grep -q "$plain" || { log "$dir/usr/sbin/mariadbd is not $plain"; exit 1; }
echo "$dir"

# Debian bullseye's packages (PostgreSQL 13, Redis 6.0 below) with an apt configuration of its own
# under the state dir: its own sources list, lists and cache (the machine's apt sources are never
# touched); bullseye_update fetches the lists, once a run, before apt-get/apt-cache "${apt_opts[@]}".
apt_root="$STATE/.apt-bullseye"
apt_opts=(-o "Dir::Etc::sourcelist=$apt_root/sources.list" -o "Dir::Etc::sourceparts=$apt_root/sources.list.d"
  -o "Dir::State=$apt_root/state" -o "Dir::Cache=$apt_root/cache" -o APT::Sandbox::User=root)
bullseye_updated=
bullseye_update() {
  [ -z "$bullseye_updated" ] || return 0
  mkdir -p "$apt_root/sources.list.d" "$apt_root/state/lists/partial" "$apt_root/cache/archives/partial"
  cat >"$apt_root/sources.list" <<'SOURCES'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bullseye-security main
SOURCES
  log "fetching Debian bullseye's package lists into $apt_root"
  apt-get -q "${apt_opts[@]}" update >&2
  bullseye_updated=1
}

# PostgreSQL 13 from Debian bullseye
PG_MAJOR=13
# complete: its programs and modules find every library they link (with the build's own)
pg_missing() {
  for f in "$1/usr/lib/postgresql/$PG_MAJOR/bin"/*.real "$1/usr/lib/postgresql/$PG_MAJOR/lib"/*.so; do
    [ -e "$f" ] || { echo "$f"; continue; }
    LD_LIBRARY_PATH="$1/usr/lib/x86_64-linux-gnu" ldd "$f" | grep 'not found' || true
  done | sort -u
}
pgdir=$(find "$STATE" -maxdepth 1 -type d -name "postgresql-$PG_MAJOR.*" ! -name '*.tmp' | sort -V | tail -1)
if [ -z "$pgdir" ] || [ -n "$(pg_missing "$pgdir")" ]; then
  bullseye_update
  pgver=$(apt-cache "${apt_opts[@]}" madison "postgresql-$PG_MAJOR" | awk -F'|' '{gsub(/ /,"",$2); print $2}' | sort -V | tail -1)
  [ -n "$pgver" ] || { log "bullseye's lists name no postgresql-$PG_MAJOR"; exit 1; }
  pgplain=$(sed -E 's/^[0-9]+://; s/-.*//' <<<"$pgver")
  pgdir="$STATE/postgresql-$pgplain"
  log "unpacking PostgreSQL $pgver into $pgdir"
  pgwork=$(mktemp -d)
  (cd "$pgwork" && apt-get -q "${apt_opts[@]}" download "postgresql-$PG_MAJOR=$pgver" "postgresql-client-$PG_MAJOR=$pgver" libssl1.1 libicu67 libldap-2.4-2 libllvm11 libffi7 >&2)
  rm -rf "$pgdir.tmp" && mkdir -p "$pgdir.tmp"
  for deb in "$pgwork"/*.deb; do dpkg-deb -x "$deb" "$pgdir.tmp"; done
  rm -rf "$pgwork"
  libs="$pgdir/usr/lib/x86_64-linux-gnu"
  for f in "$pgdir.tmp/usr/lib/postgresql/$PG_MAJOR/bin"/*; do
    [ -f "$f" ] && [ ! -L "$f" ] && head -c4 "$f" | grep -q ELF || continue
    mv "$f" "$f.real"
    printf '#!/bin/bash\n# the build'"'"'s own libraries for this process only (tools/lab/engine-versions.sh)\nexport LD_LIBRARY_PATH=%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\nexec -a "$0" "$0.real" "$@"\n' "$libs" >"$f"
    chmod 0755 "$f"
  done
  rm -rf "$pgdir" && mv "$pgdir.tmp" "$pgdir"
fi
pgbin="$pgdir/usr/lib/postgresql/$PG_MAJOR/bin"
"$pgbin/postgres" --version | grep -q "(PostgreSQL) $PG_MAJOR\." || { log "$pgbin/postgres does not run as PostgreSQL $PG_MAJOR"; exit 1; }
"$pgbin/pg_upgrade" --version >/dev/null || { log "$pgbin/pg_upgrade does not run"; exit 1; }
missing=$(pg_missing "$pgdir")
[ -z "$missing" ] || { log "$pgdir misses libraries: $missing"; exit 1; }
echo "$pgdir"

# Redis: an older release than bookworm's 7.0, Debian bullseye's 6.0 (redis-server, redis-tools,
# and the shared libraries this machine lacks, found with ldd: libssl1.1, Lua 5.1 and its cjson and
# bit modules), fetched with an apt configuration of its own under the state dir (its own sources
# list, lists and cache: the machine's apt sources are never touched), unpacked into
# <state>/redis-6.0.<patch>. Each program becomes a wrapper setting LD_LIBRARY_PATH and LUA_CPATH
# to the build's own directories for that process only. A guest names it in [redis] version_dirs.
redis_6_0() {
  local rdir rver rplain work f missing lib pkgs=()
  rdir=$(find "$STATE" -maxdepth 1 -type d -name 'redis-6.0.*' ! -name '*.tmp' | sort -V | tail -1)
  # (again when unpacked by an older version of this script, whose wrappers set no LUA_CPATH)
  if [ -z "$rdir" ] || [ ! -x "$rdir/usr/bin/redis-check-rdb.real" ] || ! grep -q LUA_CPATH "$rdir/usr/bin/redis-cli"; then
    bullseye_update
    rver=$(apt-cache "${apt_opts[@]}" madison redis-server | awk -F'|' '{gsub(/ /,"",$2); print $2}' | sort -V | tail -1)
    [ -n "$rver" ] || { log "bullseye's lists name no redis-server"; exit 1; }
    rplain=$(sed -E 's/^[0-9]+://; s/-.*//' <<<"$rver")
    rdir="$STATE/redis-$rplain"
    log "unpacking Redis $rver into $rdir"
    work=$(mktemp -d)
    (cd "$work" && apt-get -q "${apt_opts[@]}" download "redis-server=$rver" "redis-tools=$rver" >&2)
    rm -rf "$rdir.tmp" && mkdir -p "$rdir.tmp"
    for f in "$work"/*.deb; do dpkg-deb -x "$f" "$rdir.tmp"; done
    # the shared libraries this machine lacks (ldd), each from its bullseye package
    for lib in $(ldd "$rdir.tmp/usr/bin/redis-check-rdb" "$rdir.tmp/usr/bin/redis-cli" | awk '/not found/ {print $1}' | sort -u); do
      case "$lib" in
        libssl.so.1.1 | libcrypto.so.1.1) pkgs+=(libssl1.1) ;;
        liblua5.1.so.0) pkgs+=(liblua5.1-0) ;;
        liblua5.1-cjson.so.0) pkgs+=(lua-cjson) ;;
        liblua5.1-bitop.so.0) pkgs+=(lua-bitop) ;;
        *) log "redis $rplain needs $lib, which this script does not know the package of"; exit 1 ;;
      esac
    done
    if [ "${#pkgs[@]}" -gt 0 ]; then
      rm -f "$work"/*.deb
      (cd "$work" && apt-get -q "${apt_opts[@]}" download $(printf '%s\n' "${pkgs[@]}" | sort -u) >&2)
      for f in "$work"/*.deb; do dpkg-deb -x "$f" "$rdir.tmp"; done
    fi
    rm -rf "$work"
    # each program a wrapper giving it the build's own libraries (this process only), and Lua's
    # modules (Debian's Redis require()s cjson and bit); redis-server, a symlink to
    # redis-check-rdb, stays one: the wrapper keeps argv[0] (exec -a), which the program picks
    # its part from
    local libs="$rdir/usr/lib/x86_64-linux-gnu"
    for f in "$rdir.tmp/usr/bin"/redis-*; do
      [ -f "$f" ] && [ ! -L "$f" ] && head -c4 "$f" | grep -q ELF || continue
      mv "$f" "$f.real"
      printf '#!/bin/bash\n# the build'"'"'s own libraries for this process only (tools/lab/engine-versions.sh)\nexport LD_LIBRARY_PATH=%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\nexport LUA_CPATH="%s/lua/5.1/?.so;;"\nexec -a "$0" %s "$@"\n' \
        "$libs" "$libs" "$rdir/usr/bin/$(basename "$f").real" >"$f"
      chmod 0755 "$f"
    done
    rm -rf "$rdir" && mv "$rdir.tmp" "$rdir"
  fi
  "$rdir/usr/bin/redis-server" --version | grep -q 'Redis server v=6\.0\.' || { log "$rdir/usr/bin/redis-server does not run as Redis 6.0"; exit 1; }
  missing=$(for f in "$rdir/usr/bin"/*.real; do LD_LIBRARY_PATH="$rdir/usr/lib/x86_64-linux-gnu" ldd "$f" | grep 'not found' || true; done | sort -u)
  [ -z "$missing" ] || { log "$rdir/usr/bin's programs miss libraries: $missing"; exit 1; }
  echo "$rdir"
}
redis_6_0
