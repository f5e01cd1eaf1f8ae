// `npm start` as a person runs it: SIGTERM or SIGINT sent to the npm process alone (not to its
// process group, as a terminal's Ctrl-C would) stops the service and every instance's guest agent
// and engine; the log is JSON lines when the output is not a terminal, short human lines on a
// pseudo-terminal (and JSON there with --log-json).
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { freePort } from '../helpers/api-process.js';
import { killOnExit, killUnder, processesUnder, reapOnExit } from '../helpers/reap.js';
import { REPO } from '../helpers/run-bin.js';
import { claimSubnet } from '../helpers/subnets.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A bound that does not hold the worker open once the test is over. */
const bound = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

interface Started {
  state: string;
  conf: string;
  port: number;
  url: string;
}

async function prepare(t: import('ava').ExecutionContext): Promise<Started> {
  const state = mkdtempSync(path.join(tmpdir(), 'npm-start-'));
  chmodSync(state, 0o755);
  reapOnExit(state);
  const conf = `${state}.conf`;
  writeFileSync(conf, `[local]\naddress_subnet = ${claimSubnet()}\n`);
  t.teardown(async () => {
    await killUnder(state); // what a failed test left (a passed one left nothing)
    rmSync(state, { recursive: true, force: true });
    rmSync(conf, { force: true });
  });
  const port = await freePort();
  return { state, conf, port, url: `http://127.0.0.1:${port}` };
}

/** Until `url` answers, or the process has exited. */
async function answering(url: string, child: ChildProcess, out: () => string): Promise<void> {
  for (const until = Date.now() + 90_000; Date.now() < until; await sleep(200)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited before answering: ${out()}`);
    if (
      await axios.get(url, { timeout: 1000 }).then(
        () => true,
        () => false,
      )
    )
      return;
  }
  throw new Error(`did not answer on ${url}: ${out()}`);
}

const commandOf = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
};

/** What still runs of this state directory: npm, the service, guest agents, engines. */
const survivors = (state: string) =>
  processesUnder(state)
    .map((pid) => `${pid}: ${commandOf(pid)}`)
    .filter((c) => !c.endsWith(': '));

async function stopsEverything(t: import('ava').ExecutionContext, signal: 'SIGTERM' | 'SIGINT') {
  const s = await prepare(t);
  const npm = killOnExit(
    spawn('npm', ['start', '--', '--state-dir', s.state, '--port', String(s.port), '--config-file', s.conf], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, npm_config_update_notifier: 'false' },
    }),
  );
  let stdout = '';
  let stderr = '';
  npm.stdout!.on('data', (d) => (stdout += d));
  npm.stderr!.on('data', (d) => (stderr += d));
  const out = () => `${stdout}\n${stderr}`;
  const exited = new Promise<void>((res) => npm.once('exit', () => res()));
  await answering(s.url, npm, out);

  const http = axios.create({
    baseURL: `${s.url}/v1.0/admin`,
    headers: { 'X-Auth-Token': readFileSync(path.join(s.state, 'admin-token'), 'utf8').trim() },
    validateStatus: () => true,
  });
  const r = await http.post('/instances', {
    instance: { name: 'n1', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb' }, databases: [{ name: 'shop' }] },
  });
  t.is(r.status, 200, JSON.stringify(r.data));
  let status = '';
  for (const until = Date.now() + 150_000; Date.now() < until && status !== 'ACTIVE' && status !== 'ERROR'; await sleep(500)) {
    status = (await http.get(`/instances/${r.data.instance.id}`)).data?.instance?.status ?? '';
  }
  t.is(status, 'ACTIVE', out());
  const running = survivors(s.state);
  t.true(
    running.some((c) => c.includes('trove-guestagent')),
    `a guest agent runs: ${running.join('\n')}`,
  );
  t.true(
    running.some((c) => /mariadbd|mysqld/.test(c)),
    `its engine runs: ${running.join('\n')}`,
  );

  process.kill(npm.pid!, signal); // to npm only
  await Promise.race([exited, bound(120_000)]);
  t.false(npm.exitCode === null && npm.signalCode === null, 'npm exited');
  let left = survivors(s.state);
  for (const until = Date.now() + 10_000; left.length && Date.now() < until; await sleep(200)) left = survivors(s.state);
  t.deepEqual(left, [], 'no service, guest agent or engine process of the state directory survives');
  t.regex(stderr, /stopping: API, taskmanager, conductor, every instance/);

  // not a terminal: JSON lines on stderr, the CLI hints on stdout
  t.regex(stdout, /Point the openstack CLI at it:/);
  const lines = stderr.split('\n').filter(Boolean);
  t.true(lines.length > 3);
  for (const line of lines) t.notThrows(() => JSON.parse(line), `a JSON line: ${line}`);
  t.true(lines.some((l) => JSON.parse(l).msg === 'stopped'));
}

test.serial('npm start: SIGTERM to the npm process stops the service and every guest agent and engine', (t) => stopsEverything(t, 'SIGTERM'));
test.serial('npm start: SIGINT to the npm process stops the service and every guest agent and engine', (t) => stopsEverything(t, 'SIGINT'));

/** The all-in-one on a pseudo-terminal (script(1)); its output once it is up and stopped. */
async function onTerminal(t: import('ava').ExecutionContext, extra: string[]): Promise<string> {
  const s = await prepare(t);
  const cmd = [process.execPath, 'bin/trove-api.js', '--all-in-one', '--state-dir', s.state, '--port', String(s.port), '--config-file', s.conf, ...extra].join(
    ' ',
  );
  const child = killOnExit(spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  await answering(s.url, child, () => out);
  const service = processesUnder(s.state).find((pid) => commandOf(pid).startsWith(`${process.execPath} bin/trove-api.js`));
  t.truthy(service, 'the service runs under script');
  process.kill(service!, 'SIGTERM');
  await Promise.race([exited, bound(60_000)]);

  return out.replace(/\r/g, '').replace(/\x1b\[[0-9;]*m/g, '');
}

test.serial('on a terminal the log is short human lines, the CLI hints kept; --log-json gives JSON there too', async (t) => {
  const human = await onTerminal(t, []);
  t.regex(human, /Point the openstack CLI at it:/);
  t.regex(human, /^\[\d\d:\d\d:\d\d\] INFO: conductor: RPC server consuming/m);
  t.regex(human, /^\[\d\d:\d\d:\d\d\] INFO: stopped$/m);
  t.notRegex(human, /^\{"level"/m, 'no JSON line');

  const json = await onTerminal(t, ['--log-json']);
  t.regex(json, /Point the openstack CLI at it:/);
  t.regex(json, /^\{"level":30,.*"msg":"RPC server consuming"/m);
  t.notRegex(json, /^\[\d\d:\d\d:\d\d\] INFO/m);
});

test.serial('the service stops when its parent dies without passing the signal on (a shell that does not exec it)', async (t) => {
  const s = await prepare(t);
  // `; true`: the shell must wait for node, so it cannot exec it; SIGTERM ends the shell alone
  const cmd = `${process.execPath} bin/trove-api.js --all-in-one --state-dir ${s.state} --port ${s.port} --config-file ${s.conf} --log-json; true`;
  const sh = killOnExit(spawn('sh', ['-c', cmd], { cwd: REPO, stdio: ['ignore', 'ignore', 'ignore'] }));
  await answering(s.url, sh, () => '');
  const service = processesUnder(s.state).find((pid) => commandOf(pid).startsWith(`${process.execPath} bin/trove-api.js`));
  t.truthy(service);
  sh.kill('SIGTERM');
  let left = survivors(s.state);
  for (const until = Date.now() + 30_000; left.length && Date.now() < until; await sleep(200)) left = survivors(s.state);
  t.deepEqual(left, [], 'the orphaned service stopped itself');
});
