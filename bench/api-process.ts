// trove-api as a process for the API benchmarks: a checkout's bin/trove-api.js on a database,
// answering an admin token (no Keystone needed), its log in a file as a deployment's would be.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, writeConf } from '../test/helpers/api-process.js';
import { get, type Target } from './api-measure.js';

export interface ApiRun {
  target: Target;
  startMs: number;
  rssMb(): number;
  /** CPU time (user + system, ms) used so far by trove-api and its workers: a figure the machine's other load hardly changes. */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** utime + stime (clock ticks) and the parent of each process. */
function processTimes(): Map<number, { ppid: number; ticks: number }> {
  const out = new Map<number, { ppid: number; ticks: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // the fields after the command name (which may hold spaces), from the state (field 3) on
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // the process ended while the list was read
    }
  }
  return out;
}

/** The CPU time (ms) of `pid` and its children (trove-api's workers; 100 clock ticks a second on Linux). */
function treeCpuMs(pid: number): number {
  let ticks = 0;
  for (const [p, t] of processTimes()) if (p === pid || t.ppid === pid) ticks += t.ticks;
  return ticks * 10;
}

export interface ApiRunOptions {
  /** [DEFAULT] trove_api_workers; unset: trove-api's default (one worker per CPU). */
  workers?: string | undefined;
  /** node --cpu-prof into this directory (the workers inherit it: one profile per process, written at exit). */
  cpuProfDir?: string | undefined;
}

/** Starts `repo`'s trove-api (repo ends with a slash) on `connection` for `projectId` and waits until it answers. */
export async function startApi(repo: string, connection: string, projectId: string, o: ApiRunOptions = {}): Promise<ApiRun> {
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const conf = writeConf({
    DEFAULT: {
      bind_host: '127.0.0.1',
      bind_port: String(port),
      admin_token: token,
      admin_project_id: projectId,
      allow_insecure_default_keys: 'true',
      // the benchmark is one user: Trove's per-user rate limits (200 GETs a minute) would refuse it
      http_get_rate: '1000000000',
      // the seeded heartbeats stay fresh for the run, as a live guest's
      agent_heartbeat_expiry: '86400',
      ...(o.workers ? { trove_api_workers: o.workers } : {}),
    },
    database: { connection },
  });
  const logDir = mkdtempSync(path.join(tmpdir(), 'bench-api-'));
  const log = openSync(path.join(logDir, 'trove-api.log'), 'a');
  const t0 = performance.now();
  const prof = o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : [];
  const child = spawn(process.execPath, [...prof, `${repo}bin/trove-api.js`, '--config-file', conf], { cwd: repo, stdio: ['ignore', log, log] });
  const target = { base: `http://127.0.0.1:${port}/v1.0/${projectId}`, token };
  for (const deadline = Date.now() + 30_000; ;) {
    if (child.exitCode !== null) throw new Error(`trove-api exited ${child.exitCode}: ${readFileSync(path.join(logDir, 'trove-api.log'), 'utf8')}`);
    if (
      await get(target, '/datastores').then(
        () => true,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('trove-api did not answer within 30 s');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const startMs = performance.now() - t0;
  return {
    target,
    startMs,
    rssMb: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024,
    cpuMs: () => treeCpuMs(child.pid!),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => {
          closeSync(log);
          rmSync(logDir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
