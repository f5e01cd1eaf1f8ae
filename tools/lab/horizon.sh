#!/usr/bin/env bash
# The real Horizon with trove-dashboard (Debian's openstack-dashboard and python3-trove-dashboard)
# on 127.0.0.1:$HORIZON_PORT for test/compat/horizon.test.ts: uwsgi (no apache), logging in through
# the lab Keystone of keystone.sh (v3, Default domain), sessions in a file cache, DEBUG off,
# COMPRESS_OFFLINE as Debian ships it (re-compressed once trove-dashboard's panels are enabled).
# Also installs Debian's chromium (/usr/bin/chromium), the headless browser of
# test/compat/horizon-browser.test.ts (driven by playwright-core; nothing is started here).
# Idempotent: a Horizon we started that still answers is left alone (restarted when our settings
# changed).
#   tools/lab/horizon.sh up|down|status        (root; run after keystone.sh up)
# Logs: $LAB_LOG_DIR/horizon.log (this script and Horizon's own output).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lab.env
. "$HERE/lab.env"
# shellcheck source=apt.sh
. "$HERE/apt.sh"
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
export no_proxy="127.0.0.1,localhost" NO_PROXY="127.0.0.1,localhost"
URL="http://$LAB_HOST:$HORIZON_PORT"
PIDFILE="$LAB_STATE_DIR/horizon.pid"
LOG="$LAB_LOG_DIR/horizon.log"
SETTINGS=/etc/openstack-dashboard/local_settings.d/_90_trove_ts_lab.py
UWSGI_INI=/etc/openstack-dashboard/trove-ts-lab-uwsgi.ini
CACHE_DIR="$LAB_STATE_DIR/horizon-cache"
STAMP="$LAB_STATE_DIR/horizon-compressed"
T0=$(date +%s)
mkdir -p "$LAB_STATE_DIR" "$LAB_LOG_DIR"

log() { printf '[horizon.sh %s +%ss] %s\n' "$(date +%H:%M:%S)" "$(( $(date +%s) - T0 ))" "$*" | tee -a "$LOG" >&2; }
die() { log "ERROR: $*"; exit 1; }
# the login page of *our* Horizon (the lab Keystone named in it is not visible, so check the title)
# (the page is read whole first: grep -q exiting at the first match made curl's write fail, and
# under pipefail a Horizon that answered looked down)
answers() { local page; page=$(curl -sf --max-time 10 "$URL/auth/login/" 2>/dev/null) && grep -q 'OpenStack Dashboard' <<<"$page"; }
running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

install_packages() {
  # chromium: the browser test's headless Chromium (no daemon either; ~100 MB the first time)
  local pkgs=(openstack-dashboard python3-trove-dashboard uwsgi-core uwsgi-plugin-python3 curl chromium)
  local missing=()
  mapfile -t missing < <(missing_packages "${pkgs[@]}")
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} (first run only, ~35 s; chromium ~30 s more)"
  # no daemon is started by the packages (apache is not even installed)
  apt_install "$LAB_LOG_DIR/apt.log" "${missing[@]}" || { tail -20 "$LAB_LOG_DIR/apt.log" >&2; die "apt-get install failed (see $LAB_LOG_DIR/apt.log)"; }
}

configure() {
  install -d -o www-data -g www-data "$CACHE_DIR" /var/lib/openstack-dashboard/secret-key
  chown -R www-data:www-data "$CACHE_DIR"
  # Loaded after Debian's local_settings.py and its local_settings.d snippets (_000x_debian_*).
  cat >"$SETTINGS.new" <<PY
# trove-ts lab (tools/lab/horizon.sh): Horizon against the lab Keystone, for the compat tests.
OPENSTACK_HOST = "$LAB_HOST"
OPENSTACK_KEYSTONE_URL = "http://$LAB_HOST:$KEYSTONE_PORT/v3"
OPENSTACK_KEYSTONE_MULTIDOMAIN_SUPPORT = False
OPENSTACK_KEYSTONE_DEFAULT_DOMAIN = "Default"
OPENSTACK_KEYSTONE_DEFAULT_ROLE = "member"
ALLOWED_HOSTS = ["$LAB_HOST", "localhost"]
DEBUG = False
COMPRESS_OFFLINE = True
# uwsgi runs several processes: sessions in a cache they share (a directory).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                      "LOCATION": "$CACHE_DIR"}}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SESSION_TIMEOUT = 3600
PY
  if ! cmp -s "$SETTINGS.new" "$SETTINGS"; then mv "$SETTINGS.new" "$SETTINGS"; else rm -f "$SETTINGS.new"; fi
  cat >"$UWSGI_INI.new" <<INI
[uwsgi]
plugins = python3
http-socket = $LAB_HOST:$HORIZON_PORT
wsgi-file = /usr/share/openstack-dashboard/wsgi.py
chdir = /usr/share/openstack-dashboard
static-map = /static=/var/lib/openstack-dashboard/static
master = true
processes = 2
threads = 2
enable-threads = true
lazy-apps = true
die-on-term = true
buffer-size = 65535
add-header = Connection: close
name = horizon-trove-ts-lab
INI
  if ! cmp -s "$UWSGI_INI.new" "$UWSGI_INI"; then mv "$UWSGI_INI.new" "$UWSGI_INI"; else rm -f "$UWSGI_INI.new"; fi
  # Offline compression must cover the enabled panels (the package's postinst compressed before
  # trove-dashboard was configured): once per package versions + settings.
  local want
  want=$( { dpkg-query -W -f='${Version}\n' openstack-dashboard python3-trove-dashboard; cat "$SETTINGS"; } | sha256sum | cut -c1-16)
  if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
    log "collectstatic + compress (once)"
    # as www-data, the user Horizon runs as (the cache, the static files and the secret key are its)
    chown -R www-data:www-data /var/lib/openstack-dashboard/static /var/lib/openstack-dashboard/secret-key "$CACHE_DIR"
    ( cd /usr/share/openstack-dashboard && runuser -u www-data -- python3 manage.py collectstatic --noinput >>"$LOG" 2>&1 \
      && runuser -u www-data -- python3 manage.py compress --force >>"$LOG" 2>&1 ) || die "manage.py collectstatic/compress failed (see $LOG)"
    echo "$want" >"$STAMP"
    log "compressed"
  fi
}

config_sum() { cat "$SETTINGS" "$UWSGI_INI" "$STAMP" 2>/dev/null | sha256sum | cut -c1-16; }

stop() {
  if running; then
    local pid; pid=$(cat "$PIDFILE")
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    rm -f "$PIDFILE"; log "stopped (pid $pid)"
  else
    log "not started by this script"
  fi
}

start() {
  touch "$LOG"; chown www-data "$LOG"
  start-stop-daemon --start --background --make-pidfile --pidfile "$PIDFILE" --chuid www-data --chdir / \
    --output "$LOG" --exec /usr/bin/uwsgi -- --ini "$UWSGI_INI"
  config_sum >"$PIDFILE.sum"
  for _ in $(seq 1 120); do
    answers && return 0
    running || { tail -20 "$LOG" >&2; die "Horizon (uwsgi) exited (log: $LOG)"; }
    sleep 0.5
  done
  tail -20 "$LOG" >&2
  die "Horizon did not answer on $URL/auth/login/ (log: $LOG)"
}

case "${1:-up}" in
  up)
    install_packages
    configure
    if running && [ "$(cat "$PIDFILE.sum" 2>/dev/null)" = "$(config_sum)" ] && answers; then
      log "Horizon already answers on $URL"
    else
      running && { log "settings changed: restarting"; stop; }
      if curl -s -o /dev/null --max-time 3 "$URL/"; then die "something else answers on port $HORIZON_PORT"; fi
      start
    fi
    log "ready: $URL (Keystone http://$LAB_HOST:$KEYSTONE_PORT/v3)"
    ;;
  down) stop ;;
  status) if answers; then echo "up: $URL"; else echo "down"; exit 1; fi ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
