// processesUnder finds a test's processes by their command line or working directory, and only those;
// descendantsOf finds a process's children and grandchildren.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { descendantsOf, killUnder, processesUnder } from './reap.js';

test('processes naming the directory or running in it are found, a sibling directory is not, killUnder stops them', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'reap-'));
  const sibling = `${dir}x`; // a prefix of another directory's name is not that directory
  mkdirSync(path.join(dir, 'data'));
  mkdirSync(sibling);
  writeFileSync(path.join(dir, 'conf'), '');
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(sibling, { recursive: true, force: true });
  });
  const named = spawn('tail', ['-f', path.join(dir, 'conf')], { stdio: 'ignore', detached: true });
  const inDir = spawn('sleep', ['60'], { stdio: 'ignore', detached: true, cwd: path.join(dir, 'data') });
  const elsewhere = spawn('sleep', ['60'], { stdio: 'ignore', detached: true, cwd: sibling });
  t.teardown(() => elsewhere.kill('SIGKILL'));
  // until the forked child has exec'd tail (before, its command line is still node's)
  let found: number[] = [];
  for (const until = Date.now() + 10_000; Date.now() < until && !found.includes(named.pid!);) {
    found = processesUnder(dir);
    await new Promise((res) => setTimeout(res, 20));
  }
  t.true(found.includes(named.pid!), 'named on its command line');
  t.true(found.includes(inDir.pid!), 'working directory inside');
  t.false(found.includes(elsewhere.pid!), 'a sibling directory');
  t.false(found.includes(process.pid), 'never the caller');
  const exits = [named, inDir].map((c) => new Promise((res) => c.once('exit', (_code, sig) => res(sig))));
  await killUnder(dir, 2000);
  t.deepEqual(await Promise.all(exits), ['SIGTERM', 'SIGTERM']);
  t.deepEqual(processesUnder(dir), []);
  t.is(elsewhere.exitCode, null, 'the other process is still running');
});

test('descendantsOf: a child and its own child, never the caller or init', async (t) => {
  // sh forks sleep and waits for it: sleep is the grandchild
  const child = spawn('sh', ['-c', 'sleep 60 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => child.kill('SIGKILL'));
  const grandchild = Number(await new Promise<string>((res) => child.stdout!.once('data', (d) => res(String(d).trim()))));
  t.teardown(() => {
    try {
      process.kill(grandchild, 'SIGKILL');
    } catch {
      // gone
    }
  });
  const found = descendantsOf(process.pid);
  t.true(found.includes(child.pid!), 'the child');
  t.true(found.includes(grandchild), 'the grandchild');
  t.false(found.includes(process.pid), 'not the caller');
  t.false(found.includes(1), 'not init');
  t.deepEqual(descendantsOf(grandchild), []);
});
