// The README's first command (`trove-api --all-in-one`, i.e. npm start) started by the test: the
// real python-troveclient with the admin token creates an instance, a real mysql client writes
// and reads a row, restart, delete; the service restarts with its instances; one server per
// state directory; bad starts fail clearly.
import test from 'ava';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { REPO, runBin } from '../helpers/run-bin.js';
import { freePort } from '../helpers/api-process.js';
import { killOnExit, reapOnExit } from '../helpers/reap.js';
import { claimSubnet } from '../helpers/subnets.js';

interface Aio {
  child: ChildProcess;
  out: () => string;
  url: string;
}

/** The all-in-one's addresses on a subnet of its own (not the default 77 every all-in-one shares), kept across its restarts. */
function subnetConf(stateDir: string): string {
  const file = `${stateDir}.subnet.conf`;
  if (!existsSync(file)) writeFileSync(file, `[local]\naddress_subnet = ${claimSubnet()}\n`);
  return file;
}

async function startAio(stateDir: string, port: number): Promise<Aio> {
  const args = ['--all-in-one', '--state-dir', stateDir, '--port', String(port), '--config-file', subnetConf(stateDir)];
  const child = spawn(process.execPath, [`${REPO}bin/trove-api.js`, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`all-in-one exited: ${out}`);
    if (await axios.get(url, { timeout: 500 }).then(() => true, () => false)) return { child, out: () => out, url };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`all-in-one did not answer: ${out}`);
}

function stopAio(a: Aio): Promise<number | null> {
  return new Promise((resolve) => {
    if (a.child.exitCode !== null) return resolve(a.child.exitCode);
    a.child.once('exit', (code) => resolve(code));
    a.child.kill('SIGTERM');
  });
}

function cli(a: Aio, stateDir: string, ...args: string[]) {
  const env = {
    PATH: '/usr/bin:/bin', HOME: '/tmp', LC_ALL: 'C.UTF-8',
    OS_AUTH_TYPE: 'admin_token', OS_ENDPOINT: `${a.url}/v1.0/admin`, OS_TOKEN: readFileSync(path.join(stateDir, 'admin-token'), 'utf8').trim(),
  };
  return execFileSync('/usr/bin/openstack', args, { env }).toString();
}

async function waitShow(a: Aio, state: string, name: string, want: (s: Record<string, string>) => boolean, ms = 120_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = JSON.parse(cli(a, state, 'database', 'instance', 'show', name, '-f', 'json')) as Record<string, string>;
    if (want(s)) return s;
    if (Date.now() > deadline) throw new Error(`instance ${name}: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

test.serial('all-in-one: CLI create → mysql row → restart the service → restart → delete', async (t) => {
  const state = mkdtempSync(path.join(tmpdir(), 'aio-'));
  reapOnExit(state);
  chmodSync(state, 0o755);
  const port = await freePort();
  let aio = await startAio(state, port);
  t.teardown(async () => {
    await stopAio(aio);
    rmSync(state, { recursive: true, force: true });
    rmSync(`${state}.subnet.conf`, { force: true });
  });
  t.regex(aio.out(), /openstack datastore list/);
  const ds = JSON.parse(cli(aio, state, 'datastore', 'list', '-f', 'json')) as Array<{ Name: string }>;
  t.true(ds.some((d) => d.Name === 'mariadb'), 'the installed MariaDB is offered');

  cli(aio, state, 'database', 'instance', 'create', 'db1', '--flavor', 'ds1G', '--size', '1', '--datastore', 'mariadb', '--databases', 'shop', '--users', 'app:Aio-Secret-9');
  // the project's own wait tool prints progress lines until the instance is ready
  const waited = execFileSync(process.execPath, [`${REPO}bin/trove-wait.js`, 'db1', '--timeout', '120'], {
    env: { PATH: process.env.PATH, OS_ENDPOINT: `${aio.url}/v1.0/admin`, OS_TOKEN: readFileSync(path.join(state, 'admin-token'), 'utf8').trim() },
  }).toString();
  t.regex(waited, /^\[\s*\d+\.\ds\] db1 is ACTIVE guest HEALTHY at 127\.0\.\d+\.\d+$/m);
  const shown = await waitShow(aio, state, 'db1', (s) => s.status === 'ACTIVE' && s.operating_status === 'HEALTHY');
  const ip = /127\.0\.\d+\.\d+/.exec(JSON.stringify(shown))![0];
  t.is(execFileSync('mariadb', ['-h', ip, '-u', 'app', '-pAio-Secret-9', 'shop', '-N', '-e', 'CREATE TABLE t (v TEXT); INSERT INTO t VALUES ("kept"); SELECT v FROM t']).toString().trim(), 'kept');

  // the detected MariaDB (with mariadb-backup) offers replicas: one built from db1 has its row
  cli(aio, state, 'database', 'instance', 'create', 'db1-copy', '--replica-of', 'db1');
  const copy = await waitShow(aio, state, 'db1-copy', (s) => (s.status === 'ACTIVE' && s.operating_status === 'HEALTHY') || s.status === 'ERROR');
  t.is(copy.status, 'ACTIVE', JSON.stringify(copy));
  const copyIp = /127\.0\.\d+\.\d+/.exec(JSON.stringify(copy))![0];
  t.not(copyIp, ip);
  t.is(execFileSync('mariadb', ['-h', copyIp, '-u', 'app', '-pAio-Secret-9', 'shop', '-N', '-e', 'SELECT v FROM t']).toString().trim(), 'kept');
  cli(aio, state, 'database', 'instance', 'delete', 'db1-copy');
  const names = () => (JSON.parse(cli(aio, state, 'database', 'instance', 'list', '-f', 'json')) as Array<{ Name: string }>).map((i) => i.Name);
  for (const end = Date.now() + 60_000; names().includes('db1-copy') && Date.now() < end; ) await new Promise((r) => setTimeout(r, 500));
  t.deepEqual(names(), ['db1']);

  // stopping the service stops every instance; starting it again brings them back
  t.is(await stopAio(aio), 0);
  t.throws(() => execFileSync('mariadb', ['-h', ip, '-u', 'app', '-pAio-Secret-9', '--connect-timeout=2', '-e', 'SELECT 1'], { stdio: 'pipe' }));
  aio = await startAio(state, port);
  await waitShow(aio, state, 'db1', (s) => s.status === 'ACTIVE' && s.operating_status === 'HEALTHY');
  let value = '';
  for (let i = 0; i < 30 && value !== 'kept'; i++) {
    try {
      value = execFileSync('mariadb', ['-h', ip, '-u', 'app', '-pAio-Secret-9', 'shop', '-N', '-e', 'SELECT v FROM t'], { stdio: 'pipe' }).toString().trim();
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  t.is(value, 'kept');

  cli(aio, state, 'database', 'instance', 'restart', 'db1');
  await waitShow(aio, state, 'db1', (s) => s.status === 'ACTIVE' && s.operating_status === 'HEALTHY');
  cli(aio, state, 'database', 'instance', 'delete', 'db1');
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && JSON.parse(cli(aio, state, 'database', 'instance', 'list', '-f', 'json')).length) await new Promise((r) => setTimeout(r, 500));
  t.deepEqual(JSON.parse(cli(aio, state, 'database', 'instance', 'list', '-f', 'json')), []);
  t.deepEqual(readdirSync(path.join(state, 'local', 'servers')), [], 'the instance directory is gone');
  t.deepEqual(existsSync(path.join(state, 'local', 'volumes')) ? readdirSync(path.join(state, 'local', 'volumes')) : [], []);
});

test.serial('all-in-one refuses a second server on one state directory, a taken port, an unwritable state directory', async (t) => {
  const state = mkdtempSync(path.join(tmpdir(), 'aio-'));
  reapOnExit(state);
  const port = await freePort();
  const aio = await startAio(state, port);
  t.teardown(async () => {
    await stopAio(aio);
    rmSync(state, { recursive: true, force: true });
    rmSync(`${state}.subnet.conf`, { force: true });
  });
  const second = await runBin('trove-api', ['--all-in-one', '--state-dir', state, '--port', String(await freePort())]);
  t.is(second.code, 1);
  t.regex(second.stderr, /another all-in-one trove-ts \(pid \d+\) is using/);

  const other = mkdtempSync(path.join(tmpdir(), 'aio-'));
  reapOnExit(other);

  const taken = await runBin('trove-api', ['--all-in-one', '--state-dir', other, '--port', String(port)]);
  t.is(taken.code, 1);
  t.regex(taken.stderr, new RegExp(`${port} is already in use`));
  t.false(existsSync(path.join(other, 'lock')), 'a failed start leaves no lock behind');

  // (root ignores directory modes, so the unwritable state directory is one under a plain file)
  const file = path.join(other, 'a-file');
  (await import('node:fs')).writeFileSync(file, 'x');
  const underFile = await runBin('trove-api', ['--all-in-one', '--state-dir', path.join(file, 'state'), '--port', String(await freePort())]);
  t.is(underFile.code, 1);
  t.regex(underFile.stderr, /state directory .* is not writable/);
  rmSync(other, { recursive: true, force: true });
});
