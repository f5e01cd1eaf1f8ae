import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isAlive, startDaemon, stopProcess, waitForDaemon } from './process.js';

const dir = mkdtempSync(path.join(tmpdir(), 'proc-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('waitForDaemon: a daemon that exits ends the wait at once with the failure, not after the timeout', async (t) => {
  const log = path.join(dir, 'exits.log');
  const pid = startDaemon('/bin/sh', ['-c', 'echo "[ERROR] cannot start" >&2; exit 3'], log);
  const began = Date.now();
  const err = await t.throwsAsync(
    waitForDaemon(async () => false, {
      alive: () => isAlive(pid),
      timeoutMs: 60_000,
      what: 'x',
      failure: (exited) => new Error(`${exited ? 'exited' : 'timed out'}: ${readFileSync(log, 'utf8').trim()}`),
    }),
  );
  t.is(err!.message, 'exited: [ERROR] cannot start');
  t.true(Date.now() - began < 5_000, `${Date.now() - began} ms`);
});

test('waitForDaemon: a daemon that stays up but never answers times out; one that answers ends the wait', async (t) => {
  const pid = startDaemon('/bin/sleep', ['30'], path.join(dir, 'sleep.log'));
  t.teardown(() => stopProcess(pid, 1000));
  const err = await t.throwsAsync(
    waitForDaemon(async () => false, { alive: () => isAlive(pid), timeoutMs: 600, what: 'x', failure: (exited) => new Error(exited ? 'exited' : 'timed out') }),
  );
  t.is(err!.message, 'timed out');
  let calls = 0;
  await waitForDaemon(async () => ++calls === 2, { alive: () => isAlive(pid), timeoutMs: 5_000, what: 'x', failure: () => new Error('no') });
  t.is(calls, 2);
});

test('startDaemon names a program that is not there', (t) => {
  t.throws(() => startDaemon('/nonexistent/mariadbd', [], path.join(dir, 'none.log')), {
    message: "could not start /nonexistent/mariadbd: no such file (the engine's program is not installed where the guest's configuration says)",
  });
});
