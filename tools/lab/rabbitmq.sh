#!/usr/bin/env bash
# Enables RabbitMQ's management plugin (rabbitmq_management, HTTP API on 15672) on the machine's
# broker, which the taskmanager uses to give each guest a bus user of its own. Idempotent: an
# enabled plugin is left alone; enabling it does not restart the node. Waits for the API to answer.
set -uo pipefail
port="${TROVE_RABBIT_MANAGEMENT_PORT:-15672}"
api_up() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${port}/api/overview" 2>/dev/null | grep -q '^401$\|^200$'; }
if api_up; then exit 0; fi
command -v rabbitmq-plugins >/dev/null || { echo "tools/lab/rabbitmq.sh: rabbitmq-plugins not found (is RabbitMQ installed?)" >&2; exit 1; }
rabbitmq-plugins -q enable --online rabbitmq_management >/dev/null || { echo "tools/lab/rabbitmq.sh: could not enable rabbitmq_management" >&2; exit 1; }
for _ in $(seq 1 60); do api_up && exit 0; sleep 1; done
echo "tools/lab/rabbitmq.sh: the management API did not answer on port ${port}" >&2
exit 1
