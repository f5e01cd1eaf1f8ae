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

/** `instance show` every second until `want` holds (or `ms` passes: an error with the last view). */
export async function waitShow(a: Aio, name: string, want: (s: Record<string, string>) => boolean, ms = 120_000): Promise<Record<string, string>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await cliJson<Record<string, string>>(a, 'database', 'instance', 'show', name);
    if (want(s)) return s;
    if (Date.now() > deadline) throw new Error(`instance ${name}: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** `backup show` every second until it is COMPLETED or FAILED. */
export async function waitBackup(a: Aio, name: string, ms = 180_000): Promise<Record<string, string>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const b = await cliJson<Record<string, string>>(a, 'database', 'backup', 'show', name);
    if (b.status === 'COMPLETED' || b.status === 'FAILED' || Date.now() > deadline) return b;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The first 127.0.x.y address in an instance's view. */
export const ipOf = (shown: Record<string, unknown>): string => /127\.0\.\d+\.\d+/.exec(JSON.stringify(shown))![0];
