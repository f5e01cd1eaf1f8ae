// The whole control plane for the cross-process tiers: a throwaway MariaDB database, a RabbitMQ
// vhost, trove-api (in-process, admin token), trove-conductor (in-process) and trove-taskmanager
// (in-process, or as real child processes that a test may kill), with the local compute driver
// running each instance's guest agent as a process managing a real mariadbd. With `viaProxies`,
// every process (guests included) reaches MariaDB and RabbitMQ through TCP proxies the test may
// cut or stall (test/helpers/tcp-proxy.ts); the test's own `tdb.db` goes straight to MariaDB.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import axios, { type AxiosInstance } from 'axios';
import { buildDeps, startApiServer, type ApiServer } from '../../src/api/server.js';
import { createLogger } from '../../src/common/log.js';
import type { RawConfig } from '../../src/common/config/reader.js';
import { startConductor } from '../../src/conductor/service.js';
import { startTaskmanager, type Taskmanager } from '../../src/taskmanager/service.js';
import { cloudDrivers } from '../../src/clients/factory.js';
import { createThrowawayDb, type ThrowawayDb } from './throwaway-db.js';
import { createVhost, type Vhost } from './rabbit.js';
import { writeConf } from './api-process.js';
import { REPO } from './run-bin.js';
import { killOnExit, killUnder, reapOnExit } from './reap.js';
import { claimSubnet, releaseSubnet } from './subnets.js';
import { SecretWatch } from './secret-watch.js';
import { logScanLine } from './log-scan.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { parseConnectionUrl, type MysqlTarget } from '../../src/db/config.js';

export const ADMIN_TOKEN = 'cp-admin-token-7f3e';

export interface ControlPlane {
  raw: RawConfig;
  confFile: string;
  tdb: ThrowawayDb;
  vhost: Vhost;
  api: ApiServer;
  stateDir: string;
  logs: string[];
  http: AxiosInstance;
  taskmanager?: Taskmanager;
  /** with `viaProxies`: what stands between every process and MariaDB, and RabbitMQ */
  proxies?: { database: TcpProxy; rabbit: TcpProxy };
  spawnTaskmanager(): ChildProcess;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  inProcessTaskmanager?: boolean;
  config?: Record<string, Record<string, string>>;
  guestConfig?: string;
  viaProxies?: boolean;
}

/** `url` with its host:port replaced by the proxy's (127.0.0.1:port). */
function through(url: string, host: string, port: number, proxy: TcpProxy): string {
  const out = url.replace(`@${host}:${port}/`, `@127.0.0.1:${proxy.port}/`);
  if (out === url) throw new Error(`cannot put a proxy in ${url.replace(/\/\/[^@]*@/, '//…@')}`);
  return out;
}

async function proxiesFor(tdb: ThrowawayDb, vhost: Vhost) {
  const db = parseConnectionUrl(tdb.url) as MysqlTarget;
  const rabbit = /@([^:/]+):(\d+)\//.exec(vhost.url)!;
  const proxies = {
    database: await startTcpProxy({ host: db.host, port: db.port }),
    rabbit: await startTcpProxy({ host: rabbit[1]!, port: Number(rabbit[2]) }),
  };
  return {
    proxies,
    dbUrl: through(tdb.url, db.host, db.port, proxies.database),
    transportUrl: through(vhost.url, rabbit[1]!, Number(rabbit[2]), proxies.rabbit),
  };
}

export async function startControlPlane(o: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const tdb = await createThrowawayDb();
  const vhost = createVhost();
  const stateDir = mkdtempSync(path.join(tmpdir(), 'trove-cp-'));
  chmodSync(stateDir, 0o755);
  reapOnExit(stateDir); // a crashed test file leaves no guest agent or engine running
  const guestConf = path.join(stateDir, 'guest-extra.conf');
  writeFileSync(guestConf, o.guestConfig ?? '[DEFAULT]\nlog_level = info\n');
  const subnet = claimSubnet(); // of its own among the test files running now
  const via = o.viaProxies ? await proxiesFor(tdb, vhost) : undefined;
  const sections: Record<string, Record<string, string>> = {
    DEFAULT: {
      transport_url: via?.transportUrl ?? vhost.url,
      compute_driver: 'local',
      report_interval: '2',
      server_sync_interval: '2',
      usage_timeout: '180',
      flow_lease_seconds: '4',
      admin_token: ADMIN_TOKEN,
      admin_project_id: 'p-local',
      bind_host: '127.0.0.1',
      bind_port: '0',
      agent_heartbeat_expiry: '30',
      // tests only: the processes it spawns start with Trove's published default keys
      allow_insecure_default_keys: 'true',
      ...(o.config?.DEFAULT ?? {}),
    },
    database: { connection: via?.dbUrl ?? tdb.url },
    local: { state_dir: stateDir, address_subnet: String(subnet), guest_config_file: guestConf, ...(o.config?.local ?? {}) },
  };
  for (const [k, v] of Object.entries(o.config ?? {})) if (k !== 'DEFAULT' && k !== 'local') sections[k] = v;
  const raw: RawConfig = sections;
  const confFile = writeConf(sections);
  const logs: string[] = [];
  const log = createLogger('cp', { destination: new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) }), level: 'debug' });
  // the drivers as src/cmd chooses them (compute_driver = local): one set for the API and the taskmanager, as in the all-in-one
  const drivers = cloudDrivers(raw, log);
  const api = await startApiServer(buildDeps(raw, drivers.api(), { log: log.child({ svc: 'api' }) }));
  const conductor = await startConductor(raw, log.child({ svc: 'conductor' }));
  const taskmanager = o.inProcessTaskmanager === false ? undefined : await startTaskmanager(raw, log.child({ svc: 'taskmanager' }), drivers.flows());
  const children: ChildProcess[] = [];
  // every log line of the suite is scanned for the secrets it handled (issue 12 item 8)
  const watch = new SecretWatch(path.join(stateDir, 'servers'));
  watch.add('admin_token', ADMIN_TOKEN);
  const http = axios.create({ baseURL: `${api.url}/v1.0/p-local`, headers: { 'X-Auth-Token': ADMIN_TOKEN }, validateStatus: () => true });
  watch.watch(http);
  return {
    raw,
    confFile,
    tdb,
    vhost,
    api,
    stateDir,
    logs,
    taskmanager,
    ...(via ? { proxies: via.proxies } : {}),
    http,
    spawnTaskmanager() {
      const child = spawn(process.execPath, [`${REPO}bin/trove-taskmanager.js`, '--config-file', confFile], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (d) => logs.push(String(d)));
      child.stderr!.on('data', (d) => logs.push(String(d)));
      children.push(killOnExit(child));
      return child;
    },
    async stop() {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      await taskmanager?.stop();
      await conductor.stop();
      await api.close();
      const scan = watch.scan(logs);
      await via?.proxies.database.close();
      await via?.proxies.rabbit.close();
      // any guest agent or engine still running under the state dir
      await killUnder(stateDir);
      rmSync(stateDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
      releaseSubnet(subnet);
      vhost.drop();
      await tdb.drop();
      console.log(`${logScanLine(scan)} (${Object.keys(watch.secrets).length} secrets looked for)`);
      if (scan.hits.length) throw new Error(`secrets in the logs: ${scan.hits.map((h) => `${h.secret} in: ${h.line}`).join(' | ')}`);
    },
  };
}

/** Polls GET /instances/{id} until `done` says so; returns the last instance body. */
export async function waitForInstance(
  http: AxiosInstance,
  id: string,
  done: (i: Record<string, unknown> | undefined, status: number) => boolean,
  timeoutMs = 180_000,
): Promise<Record<string, unknown> | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: Record<string, unknown> | undefined;
  for (;;) {
    const r = await http.get(`/instances/${id}`);
    last = r.data?.instance;
    if (done(last, r.status)) return last;
    if (Date.now() > deadline) throw new Error(`instance ${id} did not get there in time; last: ${JSON.stringify(r.data)}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

/** Polls GET /backups/{id} until `done` says so (by default: COMPLETED or FAILED); returns the last backup body. */
export async function waitForBackup(
  http: AxiosInstance,
  id: string,
  done: (b: Record<string, unknown> | undefined, status: number) => boolean = (b) => b?.status === 'COMPLETED' || b?.status === 'FAILED',
  timeoutMs = 180_000,
): Promise<Record<string, unknown> | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await http.get(`/backups/${id}`);
    if (done(r.data?.backup, r.status)) return r.data?.backup;
    if (Date.now() > deadline) throw new Error(`backup ${id} did not get there in time; last: ${JSON.stringify(r.data)}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}
