// trove-api --all-in-one (npm start): the whole service on one machine with no OpenStack, no
// RabbitMQ and no MySQL server — SQLite for the control database, an embedded bus on a unix
// socket, instances as local guest agent processes managing real engines, an admin token for
// the CLI. Registers the engines installed here, prints how to point the CLI at it, and stops
// everything it started on SIGINT/SIGTERM/SIGHUP or when its parent (npm, a shell) is gone. A second
// start finds its instances again. Logs short human lines at a terminal, JSON lines otherwise.
import { execFile } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { ConfigError } from '../common/errors.js';
import { parseIni, readRawConfig, type RawConfig } from '../common/config/reader.js';
import { renderIni } from '../common/config/writer.js';
import { configSection } from '../common/config/schema.js';
import { chooseLogFormat, createLogger } from '../common/log.js';
import { checkSocketPath, makeRuntimeDir, runtimeDirFor, runtimeDirSection, SOCKET_PATH_MAX } from '../common/runtime-dir.js';
import { databaseSection } from '../db/config.js';
import { openDatabase } from '../db/connection.js';
import { syncSchema } from '../db/migrate.js';
import { loadConfigParameters, setDefaultVersion, upsertVersion } from '../db/datastores.js';
import { MemoryBroker, MemoryTransport } from '../rpc/transports/memory.js';
import { SocketBroker } from '../rpc/transports/socket-broker.js';
import { RpcClient } from '../rpc/rpc.js';
import { buildDeps, startApiServer } from '../api/server.js';
import { startConductor } from '../conductor/service.js';
import { startTaskmanager } from '../taskmanager/service.js';
import type { LocalCompute } from '../clients/local/compute.js';
import { LocalBusAccounts } from '../clients/local/bus-accounts.js';
import { cloudDrivers } from '../clients/factory.js';
import type { Logger } from '../common/log.js';
import type { HealthCheck } from '../common/metrics/health.js';
import { runService } from '../common/config/service-config.js';
import { packageRoot } from '../common/package-root.js';
import { refuseDefaultKeys, TROVE_DEFAULT_KEYS } from '../rpc/secure.js';
import { serveConfiguredMetrics, type MetricsServer } from '../common/metrics/server.js';

const run = promisify(execFile);
/** The checkout: bin/ and etc/ are there, whether this runs from src/cmd or from dist/src/cmd. */
const REPO = packageRoot(import.meta.url);

interface Options {
  stateDir: string;
  port: string;
  configFile: string[];
  logJson?: boolean;
}

function parse(): Options {
  return new Command('trove-api --all-in-one')
    .option('--all-in-one', 'run the whole service on this machine')
    .option('--state-dir <dir>', 'where everything is kept', '.state/all-in-one')
    .option('--port <port>', 'the API port', '8779')
    .option('--config-file <path>', 'extra configuration (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
    .option('--log-json', 'JSON log lines even at a terminal (the default when stdout or stderr is not one)')
    .allowExcessArguments(false)
    .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2))
    .parse(process.argv)
    .opts<Options>();
}

/** The all-in-one's metrics port when trove.conf names none: the API's + 1000 (0, any free one, when that is past 65535). */
function aioMetricsPort(apiPort: number): number {
  return apiPort === 0 || apiPort + 1000 > 65535 ? 0 : apiPort + 1000;
}

/**
 * The whole process's metrics port ([metrics] api_port). A port the configuration names and
 * cannot have stops the start; the derived one (API port + 1000) taken by something else is
 * only warned about: the service runs on without metrics.
 */
async function aioMetrics(raw: RawConfig, extra: RawConfig, checks: HealthCheck[], log: Logger): Promise<MetricsServer | undefined> {
  try {
    return await serveConfiguredMetrics(raw, 'api', checks, log);
  } catch (err) {
    if (extra.metrics?.api_port !== undefined || !(err instanceof ConfigError)) throw err;
    log.warn({ err: err.message }, 'no metrics port: the default one is taken (set [metrics] api_port)');
    return undefined;
  }
}

/** One server per state directory: a lock file holding the owner's pid. */
function lock(file: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(file, 'utf8'));
      let alive: boolean;
      try {
        process.kill(pid, 0);
        alive = pid !== process.pid;
      } catch {
        alive = false;
      }
      if (alive) throw new ConfigError(`another all-in-one trove-ts (pid ${pid}) is using ${path.dirname(file)}`);
      rmSync(file, { force: true }); // stale: its owner is gone
    }
  }
  throw new ConfigError(`cannot lock ${file}`);
}

await runService('trove-api', async () => {
  const o = parse();
  const state = path.resolve(o.stateDir);
  try {
    mkdirSync(state, { recursive: true, mode: 0o755 });
    accessSync(state, constants.W_OK);
  } catch (err) {
    throw new ConfigError(`the state directory ${state} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const unlock = lock(path.join(state, 'lock'));
  try {
    await serve(o, state);
  } catch (err) {
    unlock();
    throw err;
  }
  process.once('exit', unlock);
});

/** <runtime dir of the state dir>/bus.sock, its directory made (0700) and its length checked. */
function busSocket(state: string, base: string | undefined): string {
  const dir = makeRuntimeDir(runtimeDirFor(state, base), { key: '[local] runtime_dir' });
  return checkSocketPath(path.join(dir, 'bus.sock'), '[local] runtime_dir');
}

/**
 * Instances created before the bus moved keep unix://<state>/bus.sock in their guest.conf: that
 * path becomes a symlink to the socket (when it is short enough to connect to at all).
 */
function linkOldBusSocket(state: string, socket: string): void {
  const old = path.join(state, 'bus.sock');
  rmSync(old, { force: true });
  if (Buffer.byteLength(old) <= SOCKET_PATH_MAX) symlinkSync(socket, old);
}

/**
 * Instances made before guests had a bus user of their own carry the bare unix:///… in their
 * guest.conf, which the bus now refuses: each gets its user, and its agent its new config.
 */
async function adoptGuests(compute: LocalCompute, accounts: LocalBusAccounts, log: Logger): Promise<void> {
  for (const { instanceId, text } of compute.guestConfigs()) {
    const conf = parseIni(text, `the guest config of instance ${instanceId}`);
    if (!conf.DEFAULT!.transport_url?.startsWith('unix:///')) continue;
    const password = randomBytes(24).toString('base64url');
    await accounts.ensureGuest(instanceId, password);
    conf.DEFAULT!.transport_url = accounts.transportUrl(instanceId, password);
    await compute.rewriteGuestConfig(instanceId, renderIni(conf, "written by trove-taskmanager; transport_url by the all-in-one (the guest's own bus user)"));
    log.info({ instance: instanceId }, 'gave an instance made before bus users its own');
  }
}

interface ServiceKeys {
  taskmanager_rpc_encr_key: string;
  inst_rpc_key_encr_key: string;
  /** a state directory made before it had keys of its own: its instances' bus keys and pending
   * passwords are sealed with Trove's published keys, which it keeps (with a warning at start) */
  published?: boolean;
}

/**
 * The state directory's own bus and flow keys, made at the first start (0600) and kept. A state
 * directory that already has a control database but no keys was made before: it keeps Trove's
 * published keys, or its instances could no longer be opened.
 */
function serviceKeys(state: string): ServiceKeys {
  const file = path.join(state, 'service-keys.json');
  if (!existsSync(file)) {
    const made: ServiceKeys = existsSync(path.join(state, 'trove.db'))
      ? { ...TROVE_DEFAULT_KEYS, published: true }
      : { taskmanager_rpc_encr_key: randomBytes(32).toString('base64url'), inst_rpc_key_encr_key: randomBytes(32).toString('base64url') };
    writeFileSync(file, JSON.stringify(made), { mode: 0o600, flag: 'wx' });
  }
  return JSON.parse(readFileSync(file, 'utf8')) as ServiceKeys;
}

async function serve(o: Options, state: string): Promise<void> {
  const tokenFile = path.join(state, 'admin-token');
  if (!existsSync(tokenFile)) writeFileSync(tokenFile, randomBytes(24).toString('hex'), { mode: 0o600 });
  const token = readFileSync(tokenFile, 'utf8').trim();
  const { published, ...keys } = serviceKeys(state);
  const extra = readRawConfig({ files: o.configFile });
  // the bus socket in a short directory of its own: a path under a deep state directory is too long for the kernel
  const busPath = busSocket(state, configSection(extra, 'local', runtimeDirSection).runtime_dir);

  const defaults: RawConfig = {
    DEFAULT: {
      bind_host: '127.0.0.1',
      bind_port: o.port,
      admin_token: token,
      admin_project_id: 'admin',
      compute_driver: 'local',
      transport_url: `unix://${busPath}`,
      report_interval: '5',
      server_sync_interval: '5',
      usage_timeout: '300',
      flow_lease_seconds: '10',
      // never Trove's published defaults: this state directory's own keys
      ...keys,
      ...(published ? { allow_insecure_default_keys: 'true' } : {}),
    },
    database: { connection: `sqlite:///${path.join(state, 'trove.db')}` },
    // one metrics port for the whole process, on loopback: the API's port + 1000 (9779 for 8779)
    metrics: { enabled: 'true', bind_host: '127.0.0.1', api_port: String(aioMetricsPort(Number(o.port))) },
    local: { state_dir: path.join(state, 'local'), guestagent_bin: path.join(REPO, 'bin/trove-guestagent.js') },
    // usage notifications as log lines: nothing consumes the embedded bus's notifications queue (a
    // Ceilometer would: driver = messagingv2 with a rabbit:// transport_url in that section)
    oslo_messaging_notifications: { driver: 'log' },
  };
  const raw: RawConfig = { ...defaults };
  for (const [s, kv] of Object.entries(extra)) raw[s] = { ...(raw[s] ?? {}), ...kv };

  refuseDefaultKeys(raw); // an extra config file that sets a published default back
  const format = chooseLogFormat({ json: o.logJson, stdoutIsTTY: process.stdout.isTTY, stderrIsTTY: process.stderr.isTTY });
  const log = createLogger('trove-ts', { level: raw.DEFAULT?.log_level ?? 'info', format });
  if (published) {
    log.warn(
      `this state directory was made before it had keys of its own: it keeps Trove's published bus and flow keys (${path.join(state, 'service-keys.json')}) so its instances stay reachable; a new state directory gets its own`,
    );
  }
  // the drivers: instances as local guest agent processes, the admin token (or a Keystone an extra config names)
  const drivers = cloudDrivers(raw, log);
  const local = drivers.local;
  if (!local) throw new ConfigError(`trove.conf [DEFAULT] compute_driver: the all-in-one runs its instances on this machine (local), not ${drivers.compute}`);
  const db = openDatabase(configSection(raw, 'database', databaseSection));
  await syncSchema(db);

  // the engines installed here (as the guest agent finds them), each registered as a datastore with its real version
  // (with the builds the guests' config file names side by side: [<engine>] version_dirs, each a version to upgrade to)
  const guestConfig = local.config.guest_config_file ? ['--config-file', local.config.guest_config_file] : [];
  const { stdout } = await run(process.execPath, [local.config.guestagent_bin, '--detect-engines', ...guestConfig]);
  const engines = JSON.parse(stdout) as Array<{ manager: string; version: string; name: string; replicationStrategy?: string }>;
  for (const e of engines) {
    const { version } = await upsertVersion(db, {
      datastore: e.manager,
      name: e.name,
      manager: e.manager,
      imageId: 'local',
      imageTags: [],
      packages: [],
      active: true,
      version: e.version,
      // replicas where the guest can build them (MariaDB with mariadb-backup)
      replStrategy: e.replicationStrategy,
    });
    // the first build found of an engine (the installed one) is its default; side-by-side builds are versions beside it
    if (engines.find((x) => x.manager === e.manager) === e) await setDefaultVersion(db, version.datastore_id, version.id);
    const rules = path.join(REPO, 'etc/datastores', e.manager, 'validation-rules.json');
    if (existsSync(rules)) await loadConfigParameters(db, version.id, JSON.parse(readFileSync(rules, 'utf8'))['configuration-parameters']);
  }
  if (engines[0] && !raw.DEFAULT!.default_datastore) raw.DEFAULT!.default_datastore = engines[0].manager;

  const broker = new MemoryBroker();
  const transport = new MemoryTransport(broker);
  const rpc = new RpcClient(transport, log);
  // the API first: a taken port fails the start before anything else runs
  const api = await startApiServer(buildDeps(raw, drivers.api(), { db, log: log.child({ svc: 'api' }), rpc })).catch(async (err) => {
    await db.destroy();
    throw err;
  });
  const metrics = await aioMetrics(raw, extra, api.deps.health!.checks, log).catch(async (err) => {
    await api.close().catch(() => undefined);
    throw err;
  });
  // each guest's connection authenticates as its instance (a user made at provision, kept here)
  const accounts = new LocalBusAccounts(path.join(state, 'bus-users.json'), busPath);
  const bus = new SocketBroker(broker, busPath, log.child({ svc: 'bus' }), accounts);
  accounts.attach(bus);
  await bus.listen();
  linkOldBusSocket(state, busPath);
  const conductor = await startConductor(raw, log.child({ svc: 'conductor' }), { db, transport });
  const guestBus = { accounts, transportUrl: (id: string, password: string) => accounts.transportUrl(id, password) };
  const taskmanager = await startTaskmanager(raw, log.child({ svc: 'taskmanager' }), { ...drivers.flows(), guestBus }, { db, transport });

  const { compute } = local;
  await adoptGuests(compute, accounts, log);
  const resumed = await compute.resumeServers();
  if (resumed.length) log.info({ instances: resumed }, 'restarted the guest agents of existing instances');

  const endpoint = `${api.url}/v1.0/admin`;
  process.stdout.write(
    [
      '',
      `trove-ts all-in-one is up: ${api.url}   (state: ${state})`,
      ...(metrics ? [`metrics: ${metrics.url}/metrics   health check: ${api.url}/healthcheck`] : []),
      `datastores: ${engines.map((e) => `${e.manager} ${e.name} (${e.version})`).join(', ') || 'none found — install one, e.g. apt-get install mariadb-server'}`,
      'Point the openstack CLI at it:',
      `  export OS_AUTH_TYPE=admin_token OS_ENDPOINT=${endpoint} OS_TOKEN=$(cat ${tokenFile})`,
      '  openstack datastore list',
      `  openstack database instance create db1 --flavor ds1G --size 1 --datastore ${engines[0]?.manager ?? '<datastore>'} --databases shop --users app:secret`,
      `  node ${path.join(REPO, 'bin/trove-wait.js')} db1   # progress until ACTIVE (OS_ENDPOINT/OS_TOKEN as above)`,
      '  openstack database instance show db1        # then: mysql -h <ip> -u app -p shop',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return log.info({ signal }, 'already stopping');
    stopping = true;
    log.info({ signal }, 'stopping: API, taskmanager, conductor, every instance');
    await metrics?.close().catch(() => undefined);
    await api.close().catch(() => undefined);
    await taskmanager.stop().catch(() => undefined);
    await conductor.stop().catch(() => undefined);
    await compute.stopServers().catch(() => undefined);
    await rpc.close();
    await bus.close();
    await db.destroy().catch(() => undefined);
    log.info('stopped');
    process.exit(0);
  };
  // `on`, not `once`: Ctrl-C reaches this process twice (from the terminal and forwarded by npm),
  // and a second SIGINT with no listener would end it at once, in the middle of stopping the engines
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void stop(sig));
  // started by npm through a shell, or from a shell: when that parent dies without passing the
  // signal on (a shell killed by SIGTERM does not), this process is re-parented; stop then too
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stop('parent exited');
  }, 1000).unref();
}
