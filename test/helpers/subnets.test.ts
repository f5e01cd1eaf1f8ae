// Subnet claims: one live process's subnet is never handed to another; a dead holder's is taken
// over; release frees it. (On a directory of its own: the shared one belongs to the running tests.)
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { subnetClaims } from './subnets.js';

test('claims are unique and held by this process until released; a live holder is skipped, a dead one taken over', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'subnets-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const claims = subnetClaims(dir, 10, 14);
  const got = [claims.claim(), claims.claim(), claims.claim()];
  t.is(new Set(got).size, 3);
  for (const n of got) t.is(readFileSync(path.join(dir, String(n)), 'utf8'), String(process.pid));
  claims.release(got[0]!);
  t.throws(() => readFileSync(path.join(dir, String(got[0]))), { code: 'ENOENT' });

  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => other.kill('SIGKILL'));
  const dead = spawn('true');
  await new Promise((res) => dead.once('exit', res));
  const free = [10, 11, 12, 13, 14].filter((n) => !got.slice(1).includes(n)); // three left
  writeFileSync(path.join(dir, String(free[0])), String(other.pid));
  writeFileSync(path.join(dir, String(free[1])), String(other.pid));
  writeFileSync(path.join(dir, String(free[2])), String(dead.pid));
  t.is(claims.claim(), free[2]!, 'the only one whose holder is gone');
  t.throws(() => claims.claim(), { message: /every test subnet/ });
});
