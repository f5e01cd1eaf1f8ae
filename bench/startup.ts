// Start time and memory of trove-api and the all-in-one (npm run bench:startup): from process start
// to ready (trove-api answering GET /; the all-in-one's "is up" line: API, bus, conductor and
// taskmanager started) and the RSS then, over BENCH_STARTS starts each; then the RSS (and its peak)
// after a list benchmark, BENCH_LIST_REQUESTS GET /instances over 16 connections (trove-api on
// MariaDB with BENCH_SEEDED instances seeded, a page of 20; the all-in-one on its SQLite).
// Each is run two ways: `bin`, the bins as they are (the compiled JavaScript in dist/), and `tsx`,
// the TypeScript sources through tsx's loader, which is how the bins ran them before issue 13
// item 5 (its guest agents too). BENCH_REPO=<checkout> runs another checkout's bins (a tree from
// before the change, for its own figures); BENCH_MODES=bin or tsx runs one way.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, writeConf } from '../test/helpers/api-process.js';
import { createThrowawayDb } from '../test/helpers/throwaway-db.js';
import { registerDatastore } from '../test/helpers/datastores.js';
import { REPO } from '../test/helpers/run-bin.js';
import { killOnExit } from '../test/helpers/reap.js';
import { Tasks } from '../src/common/instance-tasks.js';
import { ServiceStatuses } from '../src/common/service-status.js';

const CHECKOUT = path.resolve(process.env.BENCH_REPO ?? REPO);
const STARTS = Number(process.env.BENCH_STARTS ?? 5);
const REQUESTS = Number(process.env.BENCH_LIST_REQUESTS ?? 2000);
const SEEDED = Number(process.env.BENCH_SEEDED ?? 100);
const MODES = (process.env.BENCH_MODES ?? 'bin,tsx').split(',') as Mode[];
const TOKEN = 'bench-admin-token';
const TSX = import.meta.resolve('tsx');
/** the per-user rate limit (200 GETs a minute) out of the way of the list benchmark */
const UNLIMITED = { http_get_rate: '100000000' };

type Mode = 'bin' | 'tsx';

/** node's argv and environment for trove-api in `mode`. */
function command(mode: Mode, args: string[]): { argv: string[]; env: NodeJS.ProcessEnv } {
  if (mode === 'bin') return { argv: [path.join(CHECKOUT, 'bin/trove-api.js'), ...args], env: process.env };
  // inherited by every node process it starts: its guest agents run their sources through tsx too
  return { argv: [path.join(CHECKOUT, 'src/cmd/api.ts'), ...args], env: { ...process.env, NODE_OPTIONS: `--import=${TSX}` } };
}

/** VmRSS and VmHWM (the peak) of a process, in MB. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)![1]);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Started {
  child: ChildProcess;
  ms: number;
}

/** Starts node with `argv` and resolves once `ready` says so (polled every 10 ms); the time from spawn. */
async function start(argv: string[], env: NodeJS.ProcessEnv, ready: (out: string) => Promise<boolean>): Promise<Started> {
  const t0 = performance.now();
  const child = killOnExit(spawn(process.execPath, argv, { cwd: CHECKOUT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  for (const until = Date.now() + 180_000; ; await sleep(10)) {
    if (child.exitCode !== null) throw new Error(`exited (${child.exitCode}): ${out.slice(-2000)}`);
    if (await ready(out)) return { child, ms: performance.now() - t0 };
    if (Date.now() > until) throw new Error(`not ready within 180 s: ${out.slice(-2000)}`);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(30_000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

const answers = (url: string) => () =>
  new Promise<boolean>((resolve) => {
    const req = http.get(url, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });

/** `total` GETs of `url` over 16 keep-alive connections; requests per second. */
async function load(url: string, token: string, total: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let sent = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      http
        .get(url, { agent, headers: { 'X-Auth-Token': token } }, (res) => {
          if (res.statusCode !== 200) reject(new Error(`${url}: ${res.statusCode}`));
          res.resume().on('end', resolve);
        })
        .on('error', reject);
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (sent++ < total) await one();
    }),
  );
  agent.destroy();
  return total / ((performance.now() - t0) / 1000);
}

interface Figures {
  what: string;
  mode: Mode;
  startMs: number;
  rssReady: number;
  rssAfter: number;
  peakAfter: number;
  reqPerS: number;
}

async function troveApi(mode: Mode, conf: (port: number) => string, project: string): Promise<Figures> {
  const times: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    const port = await freePort();
    const { argv, env } = command(mode, ['--config-file', conf(port)]);
    const s = await start(argv, env, answers(`http://127.0.0.1:${port}/`));
    times.push(s.ms);
    await sleep(500); // what it holds once started, not in the middle of its first tick
    rss.push(memory(s.child.pid!).rss);
    if (i === STARTS - 1) {
      const reqPerS = await load(`http://127.0.0.1:${port}/v1.0/${project}/instances`, TOKEN, REQUESTS);
      const after = memory(s.child.pid!);
      await stop(s.child);
      return { what: 'trove-api', mode, startMs: median(times), rssReady: median(rss), rssAfter: after.rss, peakAfter: after.peak, reqPerS };
    }
    await stop(s.child);
  }
  throw new Error('BENCH_STARTS must be at least 1');
}

async function allInOne(mode: Mode): Promise<Figures> {
  const times: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    const state = mkdtempSync(path.join(tmpdir(), 'startup-bench-'));
    chmodSync(state, 0o755);
    const extra = path.join(state, 'extra.conf');
    // tsx: the guest agent (its engine detection at start) from the sources as well
    const guest = mode === 'tsx' ? `guestagent_bin = ${path.join(CHECKOUT, 'guestagent/main.ts')}\n` : '';
    writeFileSync(extra, `[DEFAULT]\nhttp_get_rate = ${UNLIMITED.http_get_rate}\n[local]\n${guest}`);
    const port = await freePort();
    const { argv, env } = command(mode, ['--all-in-one', '--state-dir', path.join(state, 's'), '--port', String(port), '--config-file', extra]);
    try {
      const s = await start(argv, env, async (out) => out.includes('trove-ts all-in-one is up'));
      times.push(s.ms);
      await sleep(500);
      rss.push(memory(s.child.pid!).rss);
      if (i === STARTS - 1) {
        const reqPerS = await load(`http://127.0.0.1:${port}/v1.0/admin/instances`, readFileSync(path.join(state, 's/admin-token'), 'utf8').trim(), REQUESTS);
        const after = memory(s.child.pid!);
        await stop(s.child);
        return { what: 'all-in-one', mode, startMs: median(times), rssReady: median(rss), rssAfter: after.rss, peakAfter: after.peak, reqPerS };
      }
      await stop(s.child);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  }
  throw new Error('BENCH_STARTS must be at least 1');
}

/** A MariaDB control database with SEEDED ACTIVE instances of one project. */
async function seeded() {
  const tdb = await createThrowawayDb();
  const { versionId } = await registerDatastore(tdb.db);
  const project = 'p-bench';
  const now = new Date();
  for (let i = 0; i < SEEDED; i += 500) {
    const ids = Array.from({ length: Math.min(500, SEEDED - i) }, () => randomUUID());
    await tdb.db('instances').insert(
      ids.map((id, k) => ({
        id,
        name: `bench-${i + k}`,
        tenant_id: project,
        flavor_id: '2',
        volume_size: 1,
        task_id: Tasks.NONE.code,
        task_description: Tasks.NONE.description,
        server_status: 'ACTIVE',
        datastore_version_id: versionId,
        compute_instance_id: id,
        addresses: JSON.stringify([{ address: `10.0.${(i + k) >> 8}.${(i + k) & 255}`, type: 'private', network: 'n' }]),
        deleted: false,
        created: now,
        updated: now,
      })),
    );
    await tdb
      .db('service_statuses')
      .insert(
        ids.map((id) => ({ id: randomUUID(), instance_id: id, status_id: ServiceStatuses.HEALTHY.code, status_description: 'healthy', updated_at: now })),
      );
  }
  return { tdb, project };
}

const { tdb, project } = await seeded();
const rows: Figures[] = [];
try {
  const conf = (port: number) =>
    writeConf({
      DEFAULT: {
        bind_host: '127.0.0.1',
        bind_port: String(port),
        admin_token: TOKEN,
        admin_project_id: project,
        allow_insecure_default_keys: 'true',
        log_level: 'warn',
        // one process, whose RSS is measured (each worker of the default, one per CPU, holds about as much)
        trove_api_workers: '1',
        ...UNLIMITED,
      },
      database: { connection: tdb.url },
    });
  for (const mode of MODES) rows.push(await troveApi(mode, conf, project));
  for (const mode of MODES) rows.push(await allInOne(mode));
} finally {
  await tdb.drop();
}

const label: Record<Mode, string> = {
  bin: CHECKOUT === path.resolve(REPO) ? 'bin/ (dist/, compiled)' : `bin/ of ${CHECKOUT}`,
  tsx: 'sources through tsx',
};
console.log(`start → ready and RSS (${CHECKOUT}; median of ${STARTS} starts; then ${REQUESTS} GET /instances on 16 connections)`);
console.log('| process | runs | start → ready | RSS ready | RSS after the list benchmark (peak) | list req/s |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.what} | ${label[r.mode]} | ${r.startMs.toFixed(0)} ms | ${r.rssReady.toFixed(0)} MB | ${r.rssAfter.toFixed(0)} MB (${r.peakAfter.toFixed(0)} MB) | ${r.reqPerS.toFixed(0)} |`,
  );
}
