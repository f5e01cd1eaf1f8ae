#!/usr/bin/env bash
# npm run test:vm: the VM tier (README "VM test tier"). Installs what it needs on first run
# (tools/lab/vm.sh: qemu, debootstrap, genisoimage, socat; the RabbitMQ management API; the
# engine tools; the lab Keystone and the cloud lab for the Glance upload, unless
# TROVE_TEST_SKIP_LAB=1), then runs test/vm/ (or the files given) under tools/reap-run.py: a qemu or any
# other process the tests leave running is stopped and counted, and fails the run. Prints the
# tier's total time last.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
started=$(date +%s)
if [ "${TROVE_TEST_SKIP_LAB:-}" != 1 ]; then
  # image-upload.test.ts uploads the built image to the cloud lab's Glance
  bash tools/lab/keystone.sh up || { echo "test/vm/run.sh: the lab Keystone could not be started" >&2; exit 1; }
  bash tools/lab/cloud.sh up || { echo "test/vm/run.sh: the cloud lab could not be started; see /var/log/trove-ts-lab/cloud.log" >&2; exit 1; }
fi
bash tools/lab/vm.sh || { echo "test/vm/run.sh: qemu, debootstrap or genisoimage could not be installed" >&2; exit 1; }
bash tools/lab/rabbitmq.sh || { echo "test/vm/run.sh: the RabbitMQ management API could not be enabled" >&2; exit 1; }
bash tools/lab/engines.sh || { echo "test/vm/run.sh: the engine tools could not be installed" >&2; exit 1; }
files=("$@")
[ ${#files[@]} -eq 0 ] && files=(test/vm/*.test.ts)
TROVE_TEST_VM=1 python3 tools/reap-run.py -- npx ava "${files[@]}"
rc=$?
echo "vm tier: total: $(($(date +%s) - started)) s"
exit "$rc"
