#!/usr/bin/env bash
# npm run test:vm: the VM tier (README "VM test tier"). Installs what it needs on first run
# (tools/lab/vm.sh: qemu, debootstrap, genisoimage, socat; the RabbitMQ management API; the
# engine tools), then runs test/vm/ (or the files given) under tools/reap-run.py: a qemu or any
# other process the tests leave running is stopped and counted, and fails the run. Prints the
# tier's total time last.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
started=$(date +%s)
bash tools/lab/vm.sh || { echo "test/vm/run.sh: qemu, debootstrap or genisoimage could not be installed" >&2; exit 1; }
bash tools/lab/rabbitmq.sh || { echo "test/vm/run.sh: the RabbitMQ management API could not be enabled" >&2; exit 1; }
bash tools/lab/engines.sh || { echo "test/vm/run.sh: the engine tools could not be installed" >&2; exit 1; }
files=("$@")
[ ${#files[@]} -eq 0 ] && files=(test/vm/*.test.ts)
python3 tools/reap-run.py -- npx ava "${files[@]}"
rc=$?
echo "vm tier: total: $(($(date +%s) - started)) s"
exit "$rc"
