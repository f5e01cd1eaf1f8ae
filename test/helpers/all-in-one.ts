// The all-in-one service (`trove-api --all-in-one`, what npm start runs) started by a test on a
// state directory of its own, the real `openstack` CLI against it with the admin token, and the
// reaping of everything it started (the service, then any guest agent or engine process left
// under the state directory).
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import axios from 'axios';
import { REPO } from './run-bin.js';
import { RUNTIME_DIR_RECORD, runtimeDirFor } from '../../src/common/runtime-dir.js';
import { killOnExit, processesUnder, reapOnExit } from './reap.js';
import { claimSubnet } from './subnets.js';

const execFileP = promisify(execFile);

export interface Aio {
  child: ChildProcess;
  out: () => string;
  url: string;
  stateDir: string;
}

/** The all-in-one's addresses on a subnet of its own (not the default 77 every all-in-one shares), kept across its restarts; removed by reapAio. */
function subnetConf(stateDir: string): string {
  const file = `${stateDir}.subnet.conf`;
  if (!existsSync(file)) writeFileSync(file, `[local]\naddress_subnet = ${claimSubnet()}\n`);
  return file;
}

/**
 * Starts the service on `stateDir` (with `configFiles` after its own); it and everything under the
 * state directory are killed when this worker exits, however it exits.
 */
export async function startAio(stateDir: string, port: number, configFiles: string[] = []): Promise<Aio> {
  reapOnExit(stateDir);
  const args = [
    '--all-in-one',
    '--state-dir',
    stateDir,
    '--port',
    String(port),
    '--config-file',
    subnetConf(stateDir),
    ...configFiles.flatMap((f) => ['--config-file', f]),
  ];
  const child = killOnExit(spawn(process.execPath, [`${REPO}bin/trove-api.js`, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  // generous: on a loaded 2-core machine the first start (the TypeScript loader, the control
  // database) took over 100 s in a fresh-clone run beside other tests
  for (const deadline = Date.now() + 240_000; Date.now() < deadline;) {
    if (child.exitCode !== null) throw new Error(`all-in-one exited: ${out}`);
    if (
      await axios.get(url, { timeout: 500 }).then(
        () => true,
        () => false,
      )
    )
      return { child, out: () => out, url, stateDir };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`all-in-one did not answer within 240 s: ${out}`);
}

/** SIGTERM (the service stops its instances and exits); resolves with its exit code. */
export function stopAio(a: Aio): Promise<number | null> {
  return new Promise((resolve) => {
    if (a.child.exitCode !== null || a.child.signalCode !== null) return resolve(a.child.exitCode);
    a.child.once('exit', (code) => resolve(code));
    a.child.kill('SIGTERM');
  });
}

/** Stops the service (SIGTERM, at most `graceMs`), then SIGKILLs whatever it left running under its state directory. */
export async function reapAio(a: Aio | undefined, stateDir: string, graceMs = 90_000): Promise<void> {
  if (a) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([stopAio(a), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer); // a pending timer would hold the test process for graceMs
    if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGKILL');
  }
  for (let round = 0; round < 3; round++) {
    const left = processesUnder(stateDir);
    if (!left.length) break;
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  removeRuntimeDirs(stateDir);
  rmSync(`${stateDir}.subnet.conf`, { force: true });
}

/** The runtime directories (sockets) of the service and of its instances' agents: /run is not the test's to fill. */
function removeRuntimeDirs(stateDir: string): void {
  const dirs = [runtimeDirFor(stateDir)];
  const servers = path.join(stateDir, 'local', 'servers');
  for (const id of existsSync(servers) ? readdirSync(servers) : []) {
    const record = path.join(servers, id, 'agent', RUNTIME_DIR_RECORD);
    if (existsSync(record)) dirs.push(readFileSync(record, 'utf8').trim());
  }
  for (const d of dirs) if (path.isAbsolute(d)) rmSync(d, { recursive: true, force: true });
}

function cliEnv(a: Aio): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/bin:/bin',
    HOME: '/tmp',
    LC_ALL: 'C.UTF-8',
    OS_AUTH_TYPE: 'admin_token',
    OS_ENDPOINT: `${a.url}/v1.0/admin`,
    OS_TOKEN: readFileSync(path.join(a.stateDir, 'admin-token'), 'utf8').trim(),
  };
}

/** `openstack ...` against the all-in-one, blocking; its stdout. */
export function cliSync(a: Aio, ...args: string[]): string {
  return execFileSync('/usr/bin/openstack', args, { env: cliEnv(a) }).toString();
}

/** `openstack ...` against the all-in-one, not blocking (tests of several engines run side by side); its stdout, or an error with its stderr. */
export async function cli(a: Aio, ...args: string[]): Promise<string> {
  try {
    return (await execFileP('/usr/bin/openstack', args, { env: cliEnv(a), timeout: 120_000 })).stdout;
  } catch (err) {
    throw new Error(`openstack ${args.join(' ')}: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`, { cause: err });
  }
}

/** `openstack ... -f json`, parsed. */
export async function cliJson<T = Record<string, unknown>>(a: Aio, ...args: string[]): Promise<T> {
  return JSON.parse(await cli(a, ...args, '-f', 'json')) as T;
}

/**
 * The API's own view of the instance or backup named `name` (GET /instances/{id} or /backups/{id},
 * found by name in the list), as JSON; undefined when no single one has that name or the API does
 * not answer. waitShow and waitBackup run the CLI again only when this view changed: the CLI reads
 * the same body, so an unchanged view is an unchanged `show` (each `openstack` call is a Python
 * start of one to three seconds of CPU on this 2-core machine, and the waits ran it every second).
 */
async function apiView(a: Aio, kind: 'instances' | 'backups', name: string): Promise<string | undefined> {
  const http = axios.create({ baseURL: `${a.url}/v1.0/admin`, headers: { 'X-Auth-Token': cliEnv(a).OS_TOKEN! }, timeout: 10_000, validateStatus: () => true });
  try {
    const list = await http.get(`/${kind}`);
    const found = ((list.data?.[kind] ?? []) as Array<{ id: string; name: string }>).filter((x) => x.name === name);
    if (list.status !== 200 || found.length !== 1) return undefined;
    const one = await http.get(`/${kind}/${found[0]!.id}`);
    return one.status === 200 ? JSON.stringify(one.data) : undefined;
  } catch {
    return undefined;
  }
}

/** Polls the API's instance list (every 250 ms) until `want` holds for the names in it, or `ms` passes; a test then asserts on the CLI's own list. */
export async function waitListed(a: Aio, want: (names: string[]) => boolean, ms = 60_000): Promise<void> {
  const http = axios.create({ baseURL: `${a.url}/v1.0/admin`, headers: { 'X-Auth-Token': cliEnv(a).OS_TOKEN! }, timeout: 10_000, validateStatus: () => true });
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
    const r = await http.get('/instances').catch(() => undefined);
    if (r?.status === 200 && want((r.data.instances as Array<{ name: string }>).map((i) => i.name))) return;
  }
}

/**
 * `show` through the CLI until `want` holds (or `ms` passes: an error with the last view). The CLI
 * runs first, then again each time the API's view of the object changed (polled every 250 ms), and
 * at least every 5 s, or every second while the API cannot tell (no single object of that name).
 */
async function waitCli(
  a: Aio,
  kind: 'instances' | 'backups',
  name: string,
  want: (s: Record<string, string>) => boolean,
  ms: number,
): Promise<{ last: Record<string, string>; met: boolean }> {
  const deadline = Date.now() + ms;
  const noun = kind === 'instances' ? 'instance' : 'backup';
  let seen: string | undefined;
  let shownAt = 0;
  for (;;) {
    const view = await apiView(a, kind, name);
    if (view === undefined || view !== seen || Date.now() - shownAt >= 5000 || Date.now() > deadline) {
      shownAt = Date.now();
      const s = await cliJson<Record<string, string>>(a, 'database', noun, 'show', name);
      if (want(s)) return { last: s, met: true };
      if (Date.now() > deadline) return { last: s, met: false };
      seen = view;
    }
    await new Promise((r) => setTimeout(r, view === undefined ? 1000 : 250));
  }
}

/** `instance show` until `want` holds (or `ms` passes: an error with the last view); see waitCli. */
export async function waitShow(a: Aio, name: string, want: (s: Record<string, string>) => boolean, ms = 120_000): Promise<Record<string, string>> {
  const { last, met } = await waitCli(a, 'instances', name, want, ms);
  if (!met) throw new Error(`instance ${name}: ${JSON.stringify(last)}`);
  return last;
}

/** `backup show` until it is COMPLETED or FAILED (or `ms` passes: the last view); see waitCli. */
export async function waitBackup(a: Aio, name: string, ms = 180_000): Promise<Record<string, string>> {
  return (await waitCli(a, 'backups', name, (b) => b.status === 'COMPLETED' || b.status === 'FAILED', ms)).last;
}

/** The first 127.0.x.y address in an instance's view. */
export const ipOf = (shown: Record<string, unknown>): string => /127\.0\.\d+\.\d+/.exec(JSON.stringify(shown))![0];
