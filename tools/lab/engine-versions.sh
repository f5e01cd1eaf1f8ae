#!/usr/bin/env bash
# Side-by-side engine builds for the upgrade tests (openstack database instance upgrade): the
# machine's engines are one version each; this unpacks another into a directory of its own,
# which a guest names in [mariadb] version_dirs (the all-in-one registers each as a datastore
# version). Idempotent, cached under the state dir; prints the directories it made.
#   MariaDB: Debian bookworm's previous 10.11 patch release (its mariadb-server-core and
#   mariadb-client-core, `apt-get download` + `dpkg-deb -x`), beside the installed one.
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
