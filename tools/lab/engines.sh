#!/usr/bin/env bash
# The engine tools the tests and the guest's backups need beyond the database servers themselves:
# mariadb-backup (physical MariaDB backups: mariadb-backup, mbstream), zstd, and python3 for
# tools/reap-run.py (test/run-all.sh stops what the tests leave running). Installs only what
# is missing; quick when everything is there.
#   tools/lab/engines.sh
set -euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
log() { printf '[engines.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=apt.sh
. "$HERE/apt.sh"

mapfile -t missing < <(missing_packages mariadb-backup zstd python3-minimal)
[ ${#missing[@]} -eq 0 ] && exit 0
[ "$(id -u)" = 0 ] || { log "not root: cannot install ${missing[*]}"; exit 1; }
log "installing ${missing[*]} (first run only)"
aptlog=$(mktemp)
apt_install "$aptlog" "${missing[@]}" || { tail -20 "$aptlog" >&2; log "apt-get install failed"; exit 1; }
rm -f "$aptlog"
