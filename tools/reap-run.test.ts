// tools/reap-run.py (the end of test/run-all.sh): what a command leaves running is listed, counted
// and stopped, SIGKILL for what ignores SIGTERM; the exit code says so; processes it did not start
// are never touched.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./reap-run.py', import.meta.url));
const run = (cmd: string) =>
  spawnSync('python3', [SCRIPT, '--', 'sh', '-c', cmd], {
    encoding: 'utf8',
    env: { ...process.env, TROVE_REAP_GRACE_MS: '1500', TROVE_REAP_SETTLE_MS: '300' },
    timeout: 60_000,
  });
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const countLine = (out: string) => out.trim().split('\n').at(-1);

test('a command that leaves nothing: its exit code, a count of 0', (t) => {
  const ok = run('exit 0');
  t.is(ok.status, 0, ok.stderr);
  t.is(countLine(ok.stdout), 'processes left behind by the tests: 0');
  const failed = run('exit 3');
  t.is(failed.status, 3);
  t.is(countLine(failed.stdout), 'processes left behind by the tests: 0');
});

test('detached processes left behind (one ignoring SIGTERM) are listed, counted, killed; exit 1', (t) => {
  // setsid: a new session and process group, as the guest agents and engines are started
  // (the second one writes its file once SIGTERM is ignored, which its exec keeps)
  const started = Date.now();
  const r = run(
    `f=$(mktemp); setsid sleep 300 & echo "pid $!"; setsid sh -c "trap '' TERM; echo x > $f; exec sleep 301" & echo "pid $!"; while [ ! -s $f ]; do sleep 0.05; done; rm $f; exit 0`,
  );
  const pids = [...r.stdout.matchAll(/^pid (\d+)$/gm)].map((m) => Number(m[1]));
  t.is(pids.length, 2);
  t.is(r.status, 1, 'the command succeeded but left processes');
  t.is(countLine(r.stdout), 'processes left behind by the tests: 2 (stopped now)');
  t.regex(r.stdout, /left behind: pid \d+: sleep 300/);
  t.regex(r.stdout, /left behind: pid \d+: .*sleep 301/);
  for (const pid of pids) t.false(alive(pid), `pid ${pid} is gone`);
  t.true(Date.now() - started >= 1500, 'the one ignoring SIGTERM was killed after the grace period');
});

test('a failing command keeps its exit code when it also left processes; a process outside the run survives', async (t) => {
  const outside = spawn('sleep', ['300'], { stdio: 'ignore', detached: true });
  t.teardown(() => outside.kill('SIGKILL'));
  const r = run('setsid sleep 302 & exit 4');
  t.is(r.status, 4);
  t.is(countLine(r.stdout), 'processes left behind by the tests: 1 (stopped now)');
  t.true(alive(outside.pid!), 'not a descendant of the run: untouched');
  t.is(spawnSync('kill', ['-0', String(outside.pid)]).status, 0);
});
