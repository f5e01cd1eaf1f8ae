#!/usr/bin/env bash
# A real Keystone (Debian's package, uwsgi, fernet tokens, the machine's MariaDB) on
# 127.0.0.1:5000 for the compatibility tests, plus the users they need. Idempotent and quick when
# already up; reuses a Keystone already answering there if the lab's admin password works.
#   tools/lab/keystone.sh up|down|status
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lab.env
. "$HERE/lab.env"
# shellcheck source=apt.sh
. "$HERE/apt.sh"
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
export no_proxy="127.0.0.1,localhost" NO_PROXY="127.0.0.1,localhost"
KS_URL="http://$LAB_HOST:$KEYSTONE_PORT/v3"
PIDFILE="$LAB_STATE_DIR/keystone.pid"
log() { printf '[keystone.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

admin_token_works() {
  curl -sf -o /dev/null --max-time 5 -H 'Content-Type: application/json' -X POST "$KS_URL/auth/tokens" -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$ADMIN_USER\",\"domain\":{\"name\":\"Default\"},\"password\":\"$ADMIN_PASS\"}}},\"scope\":{\"project\":{\"name\":\"$ADMIN_PROJECT\",\"domain\":{\"name\":\"Default\"}}}}}"
}


install_packages() {
  local pkgs=(keystone uwsgi-core uwsgi-plugin-python3 crudini curl python3-openstackclient python3-troveclient python3-keystoneclient)
  local missing=() p
  for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} (first run only)"
  echo "keystone keystone/configure_db boolean false" | debconf-set-selections
  echo "keystone keystone/create-admin-tenant boolean false" | debconf-set-selections
  echo "keystone keystone/register-endpoint boolean false" | debconf-set-selections
  apt_install "$LAB_LOG_DIR/apt.log" "${missing[@]}" || die "apt-get install failed (see $LAB_LOG_DIR/apt.log)"
}

configure() {
  mysql --protocol=socket -uroot -e "CREATE DATABASE IF NOT EXISTS keystone CHARACTER SET utf8mb4;
    CREATE USER IF NOT EXISTS 'keystone'@'localhost' IDENTIFIED BY '$KEYSTONE_DB_PASS';
    CREATE USER IF NOT EXISTS 'keystone'@'127.0.0.1' IDENTIFIED BY '$KEYSTONE_DB_PASS';
    ALTER USER 'keystone'@'localhost' IDENTIFIED BY '$KEYSTONE_DB_PASS';
    ALTER USER 'keystone'@'127.0.0.1' IDENTIFIED BY '$KEYSTONE_DB_PASS';
    GRANT ALL PRIVILEGES ON keystone.* TO 'keystone'@'localhost';
    GRANT ALL PRIVILEGES ON keystone.* TO 'keystone'@'127.0.0.1';"
  local C=/etc/keystone/keystone.conf
  crudini --set $C database connection "mysql+pymysql://keystone:$KEYSTONE_DB_PASS@$LAB_HOST/keystone?charset=utf8mb4"
  crudini --set $C token provider fernet
  crudini --set $C DEFAULT log_dir /var/log/keystone
  crudini --del $C catalog template_file 2>/dev/null || true
  install -d -o keystone -g keystone /var/log/keystone /etc/keystone/fernet-keys /etc/keystone/credential-keys
  su -s /bin/sh -c "keystone-manage db_sync" keystone >>"$LAB_LOG_DIR/keystone-manage.log" 2>&1 || die "keystone-manage db_sync failed ($LAB_LOG_DIR/keystone-manage.log)"
  [ -e /etc/keystone/fernet-keys/0 ] || keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone >>"$LAB_LOG_DIR/keystone-manage.log" 2>&1
  [ -e /etc/keystone/credential-keys/0 ] || keystone-manage credential_setup --keystone-user keystone --keystone-group keystone >>"$LAB_LOG_DIR/keystone-manage.log" 2>&1
  su -s /bin/sh -c "keystone-manage bootstrap --bootstrap-username '$ADMIN_USER' --bootstrap-password '$ADMIN_PASS' \
    --bootstrap-project-name '$ADMIN_PROJECT' --bootstrap-role-name admin --bootstrap-service-name keystone \
    --bootstrap-region-id '$LAB_REGION' --bootstrap-admin-url '$KS_URL' --bootstrap-internal-url '$KS_URL' \
    --bootstrap-public-url '$KS_URL'" keystone >>"$LAB_LOG_DIR/keystone-manage.log" 2>&1 || die "keystone-manage bootstrap failed"
  cat >/etc/keystone/trove-ts-lab-uwsgi.ini <<INI
[uwsgi]
plugins = python3
http-socket = $LAB_HOST:$KEYSTONE_PORT
wsgi-file = /usr/bin/keystone-wsgi-public
chdir = /var/lib/keystone
master = true
processes = 2
threads = 2
enable-threads = true
lazy-apps = true
die-on-term = true
buffer-size = 65535
http-auto-chunked = true
add-header = Connection: close
name = keystone-trove-ts-lab
INI
}

start() {
  touch "$LAB_LOG_DIR/keystone.log"; chown keystone "$LAB_LOG_DIR/keystone.log"
  start-stop-daemon --start --background --make-pidfile --pidfile "$PIDFILE" --chuid keystone --chdir / \
    --output "$LAB_LOG_DIR/keystone.log" --exec /usr/bin/uwsgi -- --ini /etc/keystone/trove-ts-lab-uwsgi.ini
  local i
  for i in $(seq 1 120); do
    admin_token_works && return 0
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { tail -20 "$LAB_LOG_DIR/keystone.log" >&2; die "keystone exited"; }
    sleep 0.5
  done
  tail -20 "$LAB_LOG_DIR/keystone.log" >&2
  die "keystone did not answer on $KS_URL"
}

register() {
  ( cd "$HERE/../.." && node --import tsx tools/lab/keystone-register.ts )
}

case "${1:-up}" in
  up)
    mkdir -p "$LAB_STATE_DIR" "$LAB_LOG_DIR"
    t0=$(date +%s)
    install_packages
    if admin_token_works; then
      log "Keystone already answers on $KS_URL"
    else
      if curl -s -o /dev/null --max-time 3 "$KS_URL"; then
        die "something on port $KEYSTONE_PORT answers but the lab admin password does not work there"
      fi
      configure
      start
    fi
    register
    log "ready in $(( $(date +%s) - t0 ))s: $KS_URL"
    ;;
  down)
    if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      kill -TERM "$(cat "$PIDFILE")"; rm -f "$PIDFILE"; log "stopped"
    else
      log "not started by this script"
    fi
    ;;
  status)
    if admin_token_works; then echo "up: $KS_URL"; else echo "down"; exit 1; fi
    ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
