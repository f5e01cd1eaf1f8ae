#!/usr/bin/env bash
# The cloud test tier's OpenStack, from Debian's packages, beside the lab Keystone of keystone.sh
# (reused, never a second one): Swift (proxy 8080, one loopback storage node), Glance (9292),
# Placement (8778), Nova with the fake virt driver (8774: servers go ACTIVE, nothing boots),
# Neutron API without agents (9696), Cinder API only (8776: lists, cannot create volumes), all
# registered in the lab Keystone's catalog (region LAB_REGION). Uses the machine's MariaDB (root
# over the socket) and RabbitMQ (its own vhost). Idempotent: daemons already running (recorded pid
# and start time) are left alone, database syncs run once per package version.
#   tools/lab/cloud.sh up|down|status        (root; TROVE_TEST_SKIP_LAB=1 skips `up`)
# Logs: $LAB_LOG_DIR/cloud.log (this script), $LAB_LOG_DIR/<daemon>.log, /var/log/<service>/.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=lab.env
. "$HERE/lab.env"
# shellcheck source=cloud.env
. "$HERE/cloud.env"
# shellcheck source=apt.sh
. "$HERE/apt.sh"
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
export no_proxy="127.0.0.1,localhost" NO_PROXY="127.0.0.1,localhost"
KS="http://$LAB_HOST:$KEYSTONE_PORT"
PIDS="$LAB_STATE_DIR/cloud.pids"
STAMPS="$LAB_STATE_DIR/cloud-stamps"
LOG="$LAB_LOG_DIR/cloud.log"
T0=$(date +%s)

log() { printf '[cloud.sh %s +%ss] %s\n' "$(date +%H:%M:%S)" "$(( $(date +%s) - T0 ))" "$*" | tee -a "$LOG" >&2; }
die() { log "ERROR: $*"; exit 1; }
ini() { crudini --set "$@"; }
version_of() { dpkg-query -W -f='${Version}' "$1"; }

# --- processes: started with start-stop-daemon, known by pid + start time -------------------------
starttime() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }
pid_of() {  # pid_of <name>: the recorded pid if that process is still the one we started
  local line pid
  line=$(awk -v n="$1" '$1==n{print $2" "$3}' "$PIDS" 2>/dev/null | tail -1)  # pid starttime
  [ -n "$line" ] || return 1
  pid=${line% *}
  [ -d "/proc/$pid" ] && [ "$(starttime "$pid")" = "${line#* }" ] || return 1
  echo "$pid"
}
record() {  # record <name> <pid> <config-sum> (services start in parallel: one writer at a time)
  local line; line="$1 $2 $(starttime "$2") $3"
  ( flock 9; { awk -v n="$1" '$1!=n' "$PIDS" 2>/dev/null || true; echo "$line"; } >"$PIDS.new"; mv "$PIDS.new" "$PIDS" ) 9>"$PIDS.lock"
}
start_daemon() {  # [CONFS="files"] start_daemon <name> <user> <exe> [args...]: restarted when CONFS changed
  local name=$1 user=$2 exe=$3 pid sum; shift 3
  sum=$(cat ${CONFS:-/dev/null} 2>/dev/null | sha256sum | cut -c1-16)
  if pid=$(pid_of "$name"); then
    if [ "$(awk -v n="$name" '$1==n{print $4}' "$PIDS" | tail -1)" = "$sum" ]; then log "$name already running (pid $pid)"; return 0; fi
    log "$name: configuration changed, restarting"; stop_daemon "$name"
  fi
  local pidfile="$LAB_STATE_DIR/$name.pid" out="$LAB_LOG_DIR/$name.log"
  rm -f "$pidfile"; touch "$out"; chown "$user" "$out"
  start-stop-daemon --start --background --make-pidfile --pidfile "$pidfile" --chuid "$user" --chdir / \
    --output "$out" --exec "$exe" -- "$@"
  sleep 0.3
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null || { tail -20 "$out" >&2; die "$name exited at once (log: $out)"; }
  record "$name" "$pid" "$sum"
  log "started $name (pid $pid, log $out)"
}
stop_daemon() {
  local name=$1 pid i
  if pid=$(pid_of "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 40); do [ -d "/proc/$pid" ] || break; sleep 0.25; done
    [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    log "stopped $name (pid $pid)"
  fi
  ( flock 9; { awk -v n="$name" '$1!=n' "$PIDS" 2>/dev/null || true; } >"$PIDS.new"; mv "$PIDS.new" "$PIDS" ) 9>"$PIDS.lock"
}
alive() { local n; for n in "$@"; do pid_of "$n" >/dev/null || { tail -20 "$LAB_LOG_DIR/$n.log" >&2; die "$n is not running (log: $LAB_LOG_DIR/$n.log)"; }; done; }
wait_http() {  # wait_http <url> <seconds> <daemon>: any HTTP answer counts
  local i
  for i in $(seq 1 $(( $2 * 4 ))); do
    curl -s -o /dev/null --max-time 3 "$1" && return 0
    pid_of "$3" >/dev/null || { tail -20 "$LAB_LOG_DIR/$3.log" >&2; die "$3 exited (log: $LAB_LOG_DIR/$3.log)"; }
    sleep 0.25
  done
  die "no answer from $1 after $2 s (log: $LAB_LOG_DIR/$3.log)"
}
wait_tcp() { local i; for i in $(seq 1 $(( $2 * 4 ))); do (exec 3<>"/dev/tcp/$LAB_HOST/$1") 2>/dev/null && return 0; sleep 0.25; done; die "nothing on port $1 after $2 s"; }

uwsgi_ini() {  # uwsgi_ini <file> <name> <port> <wsgi-file> <chdir> [processes] [threads]
  cat >"$1" <<INI
; written by trove-ts tools/lab/cloud.sh
[uwsgi]
plugins = python3
http-socket = $LAB_HOST:$3
wsgi-file = $4
chdir = $5
master = true
processes = ${6:-1}
threads = ${7:-4}
enable-threads = true
lazy-apps = true
die-on-term = true
no-orphans = true
buffer-size = 65535
http-auto-chunked = true
http-chunked-input = true
http-raw-body = true
wsgi-manage-chunked-input = true
add-header = Connection: close
name = $2-trove-ts-lab
INI
}

# --- shared configuration pieces --------------------------------------------------------------
db_url() { echo "mysql+pymysql://$1:$CLOUD_DB_PASS@$LAB_HOST:3306/$2?charset=utf8mb4"; }   # db_url <user> <db>
rabbit_url() { echo "rabbit://$CLOUD_RABBIT_USER:$CLOUD_RABBIT_PASS@$LAB_HOST:5672/$CLOUD_RABBIT_VHOST"; }
authtoken() {  # authtoken <file> <user> [section]
  local f=$1 u=$2 s=${3:-keystone_authtoken}
  ini "$f" "$s" www_authenticate_uri "$KS"
  ini "$f" "$s" auth_url "$KS"
  ini "$f" "$s" auth_type password
  ini "$f" "$s" project_domain_name Default
  ini "$f" "$s" user_domain_name Default
  ini "$f" "$s" project_name "$SERVICE_PROJECT"
  ini "$f" "$s" username "$u"
  ini "$f" "$s" password "$CLOUD_SERVICE_PASS"
  ini "$f" "$s" region_name "$LAB_REGION"
}
# once <stamp> <cmd...>: run a slow idempotent step (db sync) only when it has not succeeded for
# this exact configuration (the stamp holds the package version and database URL hash).
once() {
  local stamp="$STAMPS/$1" key=$2; shift 2
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && return 0
  "$@" && echo "$key" >"$stamp"
}
manage() {  # manage <service> <logname> <cmd...>: run as the service user, output to a log
  local u=$1 l="$LAB_LOG_DIR/$2.log"; shift 2
  runuser -u "$u" -- "$@" >>"$l" 2>&1 || { tail -20 "$l" >&2; die "$* failed (log: $l)"; }
}
db_key() { echo "$(version_of "$1") $(echo "$CLOUD_DB_PASS $2" | sha256sum | cut -c1-16)"; }

PACKAGES=(crudini curl uwsgi-core uwsgi-plugin-python3 python3-keystonemiddleware
  swift swift-proxy swift-account swift-container swift-object
  glance-api glance-common placement-api placement-common neutron-server neutron-common
  nova-api nova-conductor nova-scheduler nova-common cinder-api cinder-common)

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${#missing[@]} packages (first run only; log $LAB_LOG_DIR/apt.log)"
  local q
  for q in configure_db configure_rabbit configure_ksat configure_api-endpoint; do
    echo "glance-common glance/$q boolean false
cinder-common cinder/$q boolean false
placement-common placement/$q boolean false
neutron-common neutron/$q boolean false" | debconf-set-selections
  done
  echo "neutron-common neutron/configure_nova boolean false" | debconf-set-selections
  for q in nova/configure_neutron nova/configure_placement nova/configure_db nova/configure_rabbit \
           nova/configure_ksat nova/configure_api-endpoint novaapi/configure_db; do
    echo "nova-common $q boolean false" | debconf-set-selections
  done
  # no daemon may be started by the packages' maintainer scripts: we start our own
  apt_install "$LAB_LOG_DIR/apt.log" "${missing[@]}" || die "apt-get install failed (see $LAB_LOG_DIR/apt.log)"
  log "packages installed"
}

databases() {
  local sql="" pair db u
  for pair in glance:glance placement:placement neutron:neutron nova_api:nova nova:nova nova_cell0:nova cinder:cinder; do
    db=${pair%:*} u=${pair#*:}
    sql+="CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4;"
    for h in localhost 127.0.0.1; do
      sql+="CREATE USER IF NOT EXISTS '$u'@'$h' IDENTIFIED BY '$CLOUD_DB_PASS'; ALTER USER '$u'@'$h' IDENTIFIED BY '$CLOUD_DB_PASS';
            GRANT ALL PRIVILEGES ON \`$db\`.* TO '$u'@'$h';"
    done
  done
  mysql --protocol=socket -uroot -e "$sql" || die "could not create the service databases (MariaDB root over the socket)"
  if ! rabbitmqctl -q list_vhosts 2>/dev/null | grep -qx "$CLOUD_RABBIT_VHOST"; then
    rabbitmqctl -q add_vhost "$CLOUD_RABBIT_VHOST" >/dev/null
  fi
  rabbitmqctl -q set_permissions -p "$CLOUD_RABBIT_VHOST" "$CLOUD_RABBIT_USER" '.*' '.*' '.*' >/dev/null
}

# --- services -----------------------------------------------------------------------------------
swift_up() {
  install -d -o swift -g swift /etc/swift "$CLOUD_SWIFT_DEVICES/d1" /var/cache/swift /var/lib/swift
  cat >/etc/swift/swift.conf <<CNF
# written by trove-ts tools/lab/cloud.sh
[swift-hash]
swift_hash_path_suffix = trove-ts-lab-suffix
swift_hash_path_prefix = trove-ts-lab-prefix

[storage-policy:0]
name = Policy-0
default = yes
CNF
  local r port
  for r in account:$SWIFT_ACCOUNT_PORT container:$SWIFT_CONTAINER_PORT object:$SWIFT_OBJECT_PORT; do
    port=${r#*:} r=${r%:*}
    # one ring per server: 2^8 partitions, 1 replica, one device; rebuilt when the port changed
    if [ ! -e "/etc/swift/$r.ring.gz" ] || ! swift-ring-builder "/etc/swift/$r.builder" 2>/dev/null | grep -q "$LAB_HOST:$port "; then
      ( cd /etc/swift && rm -f "$r.builder" "$r.ring.gz" && swift-ring-builder "$r.builder" create 8 1 1 >/dev/null \
        && swift-ring-builder "$r.builder" add "r1z1-$LAB_HOST:$port/d1" 100 >/dev/null \
        && { swift-ring-builder "$r.builder" rebalance >/dev/null || true; } )
      [ -e "/etc/swift/$r.ring.gz" ] || die "swift ring $r not built"
    fi
    cat >"/etc/swift/$r-server.conf" <<CNF
# written by trove-ts tools/lab/cloud.sh
[DEFAULT]
bind_ip = $LAB_HOST
bind_port = $port
workers = 0
user = swift
devices = $CLOUD_SWIFT_DEVICES
mount_check = false
log_name = $r-server

[pipeline:main]
pipeline = healthcheck $r-server

[app:$r-server]
use = egg:swift#$r

[filter:healthcheck]
use = egg:swift#healthcheck
CNF
  done
  cat >/etc/swift/proxy-server.conf <<CNF
# written by trove-ts tools/lab/cloud.sh
[DEFAULT]
bind_ip = $LAB_HOST
bind_port = $SWIFT_PROXY_PORT
workers = 0
user = swift
log_name = proxy-server

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging listing_formats bulk tempurl authtoken keystoneauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
delay_auth_decision = true

[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:tempurl]
use = egg:swift#tempurl
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CNF
  authtoken /etc/swift/proxy-server.conf swift filter:authtoken
  chown -R swift:swift /etc/swift "$CLOUD_SWIFT_DEVICES"
  # workers = 0: one process each, started as user swift (-v: log to stderr too)
  for r in account container object; do CONFS="/etc/swift/swift.conf /etc/swift/$r-server.conf /etc/swift/$r.ring.gz" start_daemon "swift-$r" swift "/usr/bin/swift-$r-server" "/etc/swift/$r-server.conf" -v; done
  CONFS="/etc/swift/swift.conf /etc/swift/proxy-server.conf /etc/swift/*.ring.gz" start_daemon swift-proxy swift /usr/bin/swift-proxy-server /etc/swift/proxy-server.conf -v
  for port in "$SWIFT_ACCOUNT_PORT" "$SWIFT_CONTAINER_PORT" "$SWIFT_OBJECT_PORT"; do wait_tcp "$port" 60; done
  wait_http "http://$LAB_HOST:$SWIFT_PROXY_PORT/healthcheck" 60 swift-proxy
}

glance_up() {
  install -d -o glance -g glance /var/lib/glance/images /var/lib/glance/staging /var/lib/glance/tasks_work_dir /var/lock/glance /var/log/glance
  local C=/etc/glance/glance-api.conf
  ini $C DEFAULT bind_host "$LAB_HOST"
  ini $C DEFAULT bind_port "$GLANCE_PORT"
  ini $C DEFAULT workers 0
  ini $C DEFAULT log_dir /var/log/glance
  ini $C DEFAULT enabled_backends "fs:file"
  ini $C database connection "$(db_url glance glance)"
  ini $C glance_store default_backend fs
  crudini --del $C glance_store filesystem_store_datadir 2>/dev/null || true
  ini $C fs filesystem_store_datadir /var/lib/glance/images
  ini $C os_glance_staging_store filesystem_store_datadir /var/lib/glance/staging
  ini $C os_glance_tasks_store filesystem_store_datadir /var/lib/glance/tasks_work_dir
  ini $C paste_deploy flavor keystone
  ini $C oslo_concurrency lock_path /var/lock/glance
  authtoken $C glance
  once glance-db "$(db_key glance-common glance)" manage glance glance-manage glance-manage --config-file $C db_sync
  CONFS=$C start_daemon glance-api glance /usr/bin/glance-api --config-file $C
  wait_http "http://$LAB_HOST:$GLANCE_PORT/versions" 120 glance-api
}

placement_up() {
  install -d -o placement -g placement /var/log/placement /var/lib/placement
  local C=/etc/placement/placement.conf
  ini $C DEFAULT log_dir /var/log/placement
  ini $C placement_database connection "$(db_url placement placement)"
  ini $C api auth_strategy keystone
  authtoken $C placement
  once placement-db "$(db_key placement-common placement)" manage placement placement-manage placement-manage --config-file $C db sync
  uwsgi_ini /etc/placement/trove-ts-lab-uwsgi.ini placement "$PLACEMENT_PORT" /usr/bin/placement-api /var/lib/placement
  CONFS="$C /etc/placement/trove-ts-lab-uwsgi.ini" start_daemon placement-api placement /usr/bin/uwsgi --ini /etc/placement/trove-ts-lab-uwsgi.ini
  wait_http "http://$LAB_HOST:$PLACEMENT_PORT/" 120 placement-api
}

neutron_up() {
  install -d -o neutron -g neutron /var/log/neutron /var/lib/neutron /var/lib/neutron/lock
  local C=/etc/neutron/neutron.conf M=/etc/neutron/plugins/ml2/ml2_conf.ini
  ini $C DEFAULT bind_host "$LAB_HOST"
  ini $C DEFAULT bind_port "$NEUTRON_PORT"
  ini $C DEFAULT core_plugin ml2
  ini $C DEFAULT service_plugins ""
  ini $C DEFAULT api_workers 1
  ini $C DEFAULT rpc_workers 0
  ini $C DEFAULT rpc_state_report_workers 0
  ini $C DEFAULT transport_url "$(rabbit_url)"
  # no AMQP heartbeats: the uwsgi-run APIs cannot send them while idle, so RabbitMQ closed their
  # connections after 60 s and the next RPC (a server boot) hung on the dead one
  ini $C oslo_messaging_rabbit heartbeat_timeout_threshold 0
  ini $C DEFAULT notify_nova_on_port_status_changes false
  ini $C DEFAULT notify_nova_on_port_data_changes false
  ini $C DEFAULT log_dir /var/log/neutron
  ini $C DEFAULT auth_strategy keystone
  ini $C database connection "$(db_url neutron neutron)"
  ini $C oslo_concurrency lock_path /var/lib/neutron/lock
  authtoken $C neutron
  # deleting a network tells nova/placement about its segments: they need credentials too
  authtoken $C neutron nova
  authtoken $C neutron placement
  ini $M ml2 type_drivers flat
  ini $M ml2 tenant_network_types ""
  # Open vSwitch binds the ports of the fake compute host to the flat network trove-ts-mgmt
  # (physnet1) for an agent that never runs: its row in the agents table has a heartbeat in the
  # future, so neutron holds it alive. No dataplane; ports get addresses and security groups.
  ini $M ml2 mechanism_drivers openvswitch
  ini $M ml2 extension_drivers port_security
  ini $M ml2_type_flat flat_networks physnet1
  ini $M securitygroup enable_security_group true
  ini $M securitygroup firewall_driver openvswitch
  once neutron-db "$(db_key neutron-common neutron)" manage neutron neutron-db-manage neutron-db-manage --config-file $C --config-file $M upgrade head
  mysql --protocol=socket -uroot neutron -e "INSERT INTO agents (id, agent_type, \`binary\`, topic, host, admin_state_up,
      created_at, started_at, heartbeat_timestamp, configurations, availability_zone)
    VALUES (UUID(), 'Open vSwitch agent', 'neutron-openvswitch-agent', 'N/A', '$CLOUD_COMPUTE_HOST', 1, NOW(), NOW(),
      '2099-01-01 00:00:00', '{\"bridge_mappings\": {\"physnet1\": \"br-ex\"}, \"datapath_type\": \"system\", \"integration_bridge\": \"br-int\", \"tunnel_types\": [], \"ovs_hybrid_plug\": false}', 'nova')
    ON DUPLICATE KEY UPDATE heartbeat_timestamp = '2099-01-01 00:00:00', admin_state_up = 1" \
    || die "could not register the fake Open vSwitch agent"
  CONFS="$C $M" start_daemon neutron-server neutron /usr/bin/neutron-server --config-file $C --config-file $M
  wait_http "http://$LAB_HOST:$NEUTRON_PORT/" 180 neutron-server
}

cinder_up() {
  install -d -o cinder -g cinder /var/log/cinder /var/lib/cinder /var/lib/cinder/tmp
  local C=/etc/cinder/cinder.conf
  ini $C DEFAULT transport_url "$(rabbit_url)"
  # no AMQP heartbeats: the uwsgi-run APIs cannot send them while idle, so RabbitMQ closed their
  # connections after 60 s and the next RPC (a server boot) hung on the dead one
  ini $C oslo_messaging_rabbit heartbeat_timeout_threshold 0
  ini $C DEFAULT auth_strategy keystone
  ini $C DEFAULT log_dir /var/log/cinder
  ini $C DEFAULT state_path /var/lib/cinder
  ini $C DEFAULT my_ip "$LAB_HOST"
  ini $C DEFAULT enabled_backends ""
  ini $C database connection "$(db_url cinder cinder)"
  ini $C oslo_concurrency lock_path /var/lib/cinder/tmp
  authtoken $C cinder
  once cinder-db "$(db_key cinder-common cinder)" manage cinder cinder-manage cinder-manage --config-file $C db sync
  uwsgi_ini /etc/cinder/trove-ts-lab-uwsgi.ini cinder "$CINDER_PORT" /usr/bin/cinder-wsgi /var/lib/cinder
  CONFS="$C /etc/cinder/trove-ts-lab-uwsgi.ini" start_daemon cinder-api cinder /usr/bin/uwsgi --ini /etc/cinder/trove-ts-lab-uwsgi.ini
  wait_http "http://$LAB_HOST:$CINDER_PORT/" 120 cinder-api
}

NOVA_CONF=/etc/nova/nova.conf
nova_configure() {
  install -d -o nova -g nova /var/log/nova /var/lib/nova /var/lib/nova/instances /var/lib/nova/tmp
  local C=$NOVA_CONF s
  ini $C DEFAULT transport_url "$(rabbit_url)"
  # no AMQP heartbeats: the uwsgi-run APIs cannot send them while idle, so RabbitMQ closed their
  # connections after 60 s and the next RPC (a server boot) hung on the dead one
  ini $C oslo_messaging_rabbit heartbeat_timeout_threshold 0
  ini $C DEFAULT my_ip "$LAB_HOST"
  ini $C DEFAULT host "$CLOUD_COMPUTE_HOST"
  ini $C DEFAULT compute_driver fake.FakeDriver
  ini $C DEFAULT log_dir /var/log/nova
  ini $C DEFAULT state_path /var/lib/nova
  ini $C DEFAULT enabled_apis osapi_compute
  ini $C api auth_strategy keystone
  ini $C api_database connection "$(db_url nova nova_api)"
  ini $C database connection "$(db_url nova nova)"
  ini $C conductor workers 1
  ini $C scheduler workers 1
  ini $C scheduler discover_hosts_in_cells_interval 10
  ini $C oslo_concurrency lock_path /var/lib/nova/tmp
  ini $C vnc enabled false
  ini $C cinder os_region_name "$LAB_REGION"
  ini $C glance region_name "$LAB_REGION"
  authtoken $C nova
  for s in placement neutron; do
    ini $C $s auth_type password
    ini $C $s auth_url "$KS/v3"
    ini $C $s project_name "$SERVICE_PROJECT"
    ini $C $s project_domain_name Default
    ini $C $s user_domain_name Default
    ini $C $s username nova
    ini $C $s password "$CLOUD_SERVICE_PASS"
    ini $C $s region_name "$LAB_REGION"
  done
  ini $C neutron service_metadata_proxy false
  nova_dbs() {
    manage nova nova-manage nova-manage --config-file $C api_db sync
    manage nova nova-manage nova-manage --config-file $C cell_v2 map_cell0 --database_connection "$(db_url nova nova_cell0)"
    runuser -u nova -- nova-manage --config-file $C cell_v2 list_cells 2>/dev/null | grep -q ' cell1 ' \
      || manage nova nova-manage nova-manage --config-file $C cell_v2 create_cell --name cell1
    manage nova nova-manage nova-manage --config-file $C db sync
  }
  once nova-db "$(db_key nova-common nova)" nova_dbs
}

nova_up() {
  # one thread per process, as Debian's own nova-api-uwsgi.ini: nova-api is eventlet-patched, and
  # with several uwsgi threads a request can hang on "greenlet.error: cannot switch to a different
  # thread" (seen: POST /servers never answered, the cloud tier's boots ended ECONNABORTED)
  uwsgi_ini /etc/nova/trove-ts-lab-api-uwsgi.ini nova-api "$NOVA_PORT" /usr/bin/nova-api-wsgi /var/lib/nova 4 1
  local CONFS=$NOVA_CONF
  CONFS="$NOVA_CONF /etc/nova/trove-ts-lab-api-uwsgi.ini" start_daemon nova-api nova /usr/bin/uwsgi --ini /etc/nova/trove-ts-lab-api-uwsgi.ini
  start_daemon nova-conductor nova /usr/bin/nova-conductor --config-file $NOVA_CONF
  start_daemon nova-scheduler nova /usr/bin/nova-scheduler --config-file $NOVA_CONF
  # nova-compute's package pulls a hypervisor; with the fake driver its entry point is enough
  start_daemon nova-compute nova /usr/bin/python3 -c 'import sys; from nova.cmd.compute import main; sys.exit(main())' \
    --config-file $NOVA_CONF --log-file /var/log/nova/nova-compute.log
  wait_http "http://$LAB_HOST:$NOVA_PORT/" 120 nova-api
}

# runs a setup function in the background, its output in $LAB_LOG_DIR/cloud-<name>.log
declare -A JOBS=()
bg() { local n=$1; shift; ( "$@" ) >>"$LAB_LOG_DIR/cloud-$n.log" 2>&1 & JOBS[$n]=$!; }
wait_jobs() {
  local n failed=0
  for n in "$@"; do
    if wait "${JOBS[$n]}"; then log "$n ready"; else log "$n FAILED: tail of $LAB_LOG_DIR/cloud-$n.log:"; tail -15 "$LAB_LOG_DIR/cloud-$n.log" >&2; failed=1; fi
  done
  [ $failed = 0 ] || die "some services did not come up"
}

check() { ( cd "$REPO" && node --import tsx tools/lab/cloud-check.ts "$@" ) 2>&1 | tee -a "$LOG" >&2; return "${PIPESTATUS[0]}"; }

up() {
  if [ "${TROVE_TEST_SKIP_LAB:-}" = 1 ]; then log "TROVE_TEST_SKIP_LAB=1: not bringing the cloud up"; return 0; fi
  [ "$(id -u)" = 0 ] || die "run as root (apt-get, start-stop-daemon --chuid)"
  mkdir -p "$LAB_STATE_DIR" "$LAB_LOG_DIR" "$STAMPS"; touch "$PIDS"
  log "=== up (logs: $LAB_LOG_DIR)"
  bash "$HERE/keystone.sh" status >/dev/null 2>&1 || bash "$HERE/keystone.sh" up || die "the lab Keystone is not up"
  install_packages
  databases
  # users, services, endpoints in the lab Keystone, before any service asks for a token
  ( cd "$REPO" && node --import tsx tools/lab/cloud-register.ts ) >>"$LOG" 2>&1 || die "Keystone registration failed (log: $LOG)"
  log "registered in Keystone ($LAB_REGION)"
  bg swift swift_up
  bg glance glance_up
  bg placement placement_up
  bg neutron neutron_up
  bg cinder cinder_up
  bg nova-db nova_configure
  wait_jobs placement nova-db
  bg nova nova_up
  wait_jobs swift glance neutron cinder nova
  alive swift-account swift-container swift-object swift-proxy glance-api placement-api neutron-server cinder-api nova-api nova-conductor nova-scheduler nova-compute
  check wait-compute || die "nova-compute did not register (log: /var/log/nova/nova-compute.log)"
  # map the fake compute host into cell1 (the scheduler also does it every 10 s)
  runuser -u nova -- nova-manage --config-file $NOVA_CONF cell_v2 discover_hosts >>"$LAB_LOG_DIR/nova-manage.log" 2>&1 || true
  check ready || die "the cloud is not ready (log: $LOG)"
  log "=== cloud ready in $(( $(date +%s) - T0 ))s: swift :$SWIFT_PROXY_PORT glance :$GLANCE_PORT placement :$PLACEMENT_PORT nova :$NOVA_PORT neutron :$NEUTRON_PORT cinder :$CINDER_PORT (region $LAB_REGION)"
}

down() {
  local n
  for n in nova-compute nova-scheduler nova-conductor nova-api cinder-api neutron-server placement-api glance-api swift-proxy swift-object swift-container swift-account; do
    stop_daemon "$n"
  done
  log "=== down"
}

status() {
  local n rc=0
  for n in swift-account swift-container swift-object swift-proxy glance-api placement-api neutron-server cinder-api nova-api nova-conductor nova-scheduler nova-compute; do
    if pid=$(pid_of "$n"); then echo "$n: running (pid $pid)"; else echo "$n: not running"; rc=1; fi
  done
  return $rc
}

mkdir -p "$LAB_LOG_DIR" "$LAB_STATE_DIR"
case "${1:-up}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
