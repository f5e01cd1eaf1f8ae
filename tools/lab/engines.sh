#!/usr/bin/env bash
# The engine tools the tests and the guest's backups need beyond the database servers themselves:
# mariadb-backup (physical MariaDB backups: mariadb-backup, mbstream) and zstd. Installs only what
# is missing; quick when everything is there.
#   tools/lab/engines.sh
set -euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
log() { printf '[engines.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for p in mariadb-backup zstd; do installed "$p" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
[ "$(id -u)" = 0 ] || { log "not root: cannot install ${missing[*]}"; exit 1; }
log "installing ${missing[*]} (first run only)"
aptlog=$(mktemp)
install() {
  apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" >>"$aptlog" 2>&1
}
if [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep _Packages | head -1)" ]; then apt-get update -q >>"$aptlog" 2>&1 || true; fi
install || { apt-get update -q >>"$aptlog" 2>&1; install; } || { tail -20 "$aptlog" >&2; log "apt-get install failed"; exit 1; }
rm -f "$aptlog"
