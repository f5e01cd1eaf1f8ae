#!/usr/bin/env bash
# The README's test command (npm test): the lab Keystone the compatibility tier needs, the
# OpenStack services of the cloud tier and Horizon with trove-dashboard (installed and started on
# first run), the type check, the lint (ESLint and Prettier), the build of dist/ when the sources changed (the
# bins the tests spawn run the compiled JavaScript), then every ava tier, run by tools/reap-run.py: whatever the tests left
# running (a guest agent, an engine, an all-in-one) is listed, stopped and counted in the line
# "processes left behind by the tests: N", and a count above 0 fails the run. Ends with
# "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ "${TROVE_TEST_SKIP_LAB:-}" != 1 ]; then
  bash tools/lab/keystone.sh up || { echo "test/run-all.sh: the lab Keystone could not be started" >&2; exit 1; }
  bash tools/lab/cloud.sh up || { echo "test/run-all.sh: the cloud lab (Swift, Glance, Nova, Neutron, Cinder) could not be started; see /var/log/trove-ts-lab/cloud.log" >&2; exit 1; }
  bash tools/lab/horizon.sh up || { echo "test/run-all.sh: Horizon with trove-dashboard could not be started; see /var/log/trove-ts-lab/horizon.log" >&2; exit 1; }
fi
bash tools/lab/rabbitmq.sh || { echo "test/run-all.sh: the RabbitMQ management API could not be enabled" >&2; exit 1; }
bash tools/lab/engines.sh || { echo "test/run-all.sh: the engine tools could not be installed" >&2; exit 1; }
bash tools/lab/engine-versions.sh >/dev/null || { echo "test/run-all.sh: the side-by-side engine builds (upgrade tests) could not be unpacked" >&2; exit 1; }
# The type check, the lint and the build of dist/ (the processes the tests spawn, bin/*.js: trove-api,
# the taskmanager, guest agents, the all-in-one, run dist/) do not depend on one another: they run
# side by side (each is one single-threaded process: on the 2-core machine about 60 s instead of
# 110 s from a fresh clone), each one's output printed once all are done, in this order. The type
# check and the lint keep caches in node_modules/.cache/trove-ts/ (npm ci starts them afresh): a
# rerun checks again only what changed.
mkdir -p node_modules/.cache/trove-ts
checks=$(mktemp -d)
npx tsc -p tsconfig.json --incremental --tsBuildInfoFile node_modules/.cache/trove-ts/typecheck.tsbuildinfo >"$checks/tsc" 2>&1 &
tsc_pid=$!
npm run --silent lint >"$checks/lint" 2>&1 &
lint_pid=$!
node tools/build/build.js >"$checks/build" 2>&1 &
build_pid=$!
wait "$tsc_pid"; tsc_rc=$?
wait "$lint_pid"; lint_rc=$?
wait "$build_pid"; build_rc=$?
cat "$checks/tsc" "$checks/lint" "$checks/build"
rm -rf "$checks"
[ "$tsc_rc" = 0 ] || { echo "test/run-all.sh: type check failed" >&2; exit 1; }
[ "$lint_rc" = 0 ] || { echo "test/run-all.sh: lint failed (npm run lint; npm run format fixes the formatting)" >&2; exit 1; }
[ "$build_rc" = 0 ] || { echo "test/run-all.sh: the build of dist/ failed" >&2; exit 1; }
log=$(mktemp)
command -v python3 >/dev/null || { echo "test/run-all.sh: python3 is needed (tools/reap-run.py stops what the tests leave running)" >&2; exit 1; }
# ava's own reporter, not --tap: ava 7's TAP reporter crashes on its inactivity timeout (it throws
# in dumpError), which hid every result of the run; ava 8, which fixes it, needs Node 22.
# Four test files at once (ava's default is one a core, two here; TROVE_TEST_CONCURRENCY sets it): a file
# spends most of its time waiting for guests, engines and the CLI. On the 2-core machine eight integration
# files took 183 s at two, 133 s at four; eight replication and backup files 235 s and 163 s; the eight
# slowest CLI and all-in-one files 227 s and 168 s; all passed.
python3 tools/reap-run.py -- npx ava --concurrency "${TROVE_TEST_CONCURRENCY:-4}" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
pass=$(grep -c '^  ✔ ' "$log"); fail=$(grep -c '^  ✘ \[fail\]' "$log"); skip=$(grep -c '^  - \[skip\]' "$log")
pending=$(sed -n 's/^ *\([0-9][0-9]*\) tests\{0,1\} remained pending after a timeout.*/\1/p' "$log" | tail -1)
hooks=$(sed -n 's/^ *\([0-9][0-9]*\) hooks\{0,1\} failed.*/\1/p' "$log" | tail -1)
rm -f "$log"
echo "${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped${pending:+, $pending pending after a timeout}${hooks:+, $hooks hooks failed}"
exit "$rc"
