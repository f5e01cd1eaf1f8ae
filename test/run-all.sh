#!/usr/bin/env bash
# The README's test command (npm test): the lab Keystone the compatibility tier needs, the
# OpenStack services of the cloud tier and Horizon with trove-dashboard (installed and started on
# first run), the type check, then every ava tier. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ "${TROVE_TEST_SKIP_LAB:-}" != 1 ]; then
  bash tools/lab/keystone.sh up || { echo "test/run-all.sh: the lab Keystone could not be started" >&2; exit 1; }
  bash tools/lab/cloud.sh up || { echo "test/run-all.sh: the cloud lab (Swift, Glance, Nova, Neutron, Cinder) could not be started; see /var/log/trove-ts-lab/cloud.log" >&2; exit 1; }
  bash tools/lab/horizon.sh up || { echo "test/run-all.sh: Horizon with trove-dashboard could not be started; see /var/log/trove-ts-lab/horizon.log" >&2; exit 1; }
fi
bash tools/lab/engines.sh || { echo "test/run-all.sh: the engine tools could not be installed" >&2; exit 1; }
npx tsc -p tsconfig.json || { echo "test/run-all.sh: type check failed" >&2; exit 1; }
log=$(mktemp)
npx ava --tap "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
pass=$(awk '/^# pass/{print $3}' "$log"); fail=$(awk '/^# fail/{print $3}' "$log"); skip=$(awk '/^# skip/{print $3}' "$log")
rm -f "$log"
echo "${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
exit "$rc"
