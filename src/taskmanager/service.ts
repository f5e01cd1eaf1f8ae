// Builds a running taskmanager from its configuration: drivers, bus, flows; resumes unfinished
// flows at start. Used by the trove-taskmanager process and by tests.
import { hostname } from 'node:os';
import type { RawConfig } from '../common/config/reader.js';
import { configSection } from '../common/config/schema.js';
import type { Logger } from '../common/log.js';
import { SecretBox } from '../common/secret-box.js';
import { databaseSection } from '../db/config.js';
import { databaseUnavailable, openDatabase, type Db } from '../db/connection.js';
import { transportFromConfig, messagingDefaults } from '../rpc/config.js';
import { secureRpc } from '../rpc/secure.js';
import { busAccountsFromConfig, guestTransportUrl } from '../clients/rabbitmq/guest-accounts.js';
import { RpcClient, RpcServer } from '../rpc/rpc.js';
import { TASKMANAGER_TOPIC, taskmanagerContract } from '../rpc/contracts/taskmanager.js';
import type { Transport } from '../rpc/transport.js';
import { localSection } from '../clients/local/config.js';
import { LocalCompute } from '../clients/local/compute.js';
import { LocalVolumes } from '../clients/local/volume.js';
import { LocalNetwork } from '../clients/local/network.js';
import { LocalObjectStore } from '../clients/local/object-store.js';
import { qemuFlowDrivers } from '../clients/qemu/factory.js';
import { SwiftObjectStore } from '../clients/openstack/swift.js';
import type { ObjectStore } from '../clients/object-store.js';
import type { BackupStorage } from '../rpc/contracts/common.js';
import type { TokenInfo } from '../clients/identity.js';
import { taskmanagerDefaults } from './config.js';
import { ConfigError } from '../common/errors.js';
import { identityConfig, keystoneConfigured } from '../clients/openstack/config.js';
import { serviceFlowDrivers, serviceIdentity, userClients } from '../clients/openstack/factory.js';
import { KeystoneTrusts } from '../clients/openstack/keystone.js';
import type { TaskContext } from './context.js';
import { FlowRunner } from './flow.js';
import { registerFlows, taskmanagerHandlers } from './manager.js';
import { startSweeper } from './server-sync.js';
import { startBackupScheduler } from './backup-scheduler.js';

export interface Taskmanager {
  ctx: TaskContext;
  stop(): Promise<void>;
}

function guestBusOf(raw: RawConfig, transportUrl: string, exchange: string, log: Logger): TaskContext['guestBus'] {
  const b = busAccountsFromConfig(raw, transportUrl, exchange, log);
  return b && { accounts: b.accounts, transportUrl: (id, password) => guestTransportUrl(b.target, id, password) };
}

function drivers(raw: RawConfig, driver: 'openstack' | 'local' | 'qemu') {
  if (driver === 'qemu') return qemuFlowDrivers(raw);
  if (driver === 'local') {
    const local = configSection(raw, 'local', localSection);
    const volumes = new LocalVolumes(local);
    const objects = new LocalObjectStore(local);
    return { compute: new LocalCompute(local, (id) => volumes.dir(id)), volumes, network: new LocalNetwork(), objectStore: () => objects };
  }
  const identity = identityConfig(raw);
  if (!keystoneConfigured(identity)) {
    throw new ConfigError('trove.conf [service_credentials] auth_url: compute_driver = openstack needs a Keystone (or use compute_driver = local)');
  }
  const { management_networks } = configSection(raw, 'DEFAULT', taskmanagerDefaults);
  const objectStore = (s: BackupStorage): ObjectStore => {
    if (s.driver !== 'swift' || !s.url || !s.auth_token) throw new ConfigError(`backups stored with '${s.driver}' cannot be reached from this taskmanager`);
    const { url, auth_token } = s;
    return new SwiftObjectStore({ endpoint: async () => url, token: async () => auth_token });
  };
  const service = serviceIdentity(identity);
  const scheduleTrusts = {
    delegation: new KeystoneTrusts(identity.service, service),
    swiftUrl: (info: TokenInfo, token: string) => userClients(identity, info, token, service).objectStoreUrl(),
  };
  return { ...serviceFlowDrivers(identity, service, management_networks), objectStore, scheduleTrusts };
}

export async function startTaskmanager(
  raw: RawConfig,
  log: Logger,
  options: {
    db?: Db;
    transport?: Transport;
    owner?: string;
    /** the backup scheduler's clock (tests) */
    scheduleClock?: () => Date;
    /** the guests' bus accounts when the bus is not configured by transport_url (the all-in-one's socket bus) */
    guestBus?: TaskContext['guestBus'];
  } = {},
): Promise<Taskmanager> {
  const config = configSection(raw, 'DEFAULT', taskmanagerDefaults);
  const messaging = configSection(raw, 'DEFAULT', messagingDefaults);
  const db = options.db ?? openDatabase(configSection(raw, 'database', databaseSection));
  const transport = options.transport ?? transportFromConfig(raw, log);
  const rpc = new RpcClient(transport, log, { timeoutMs: messaging.rpc_response_timeout * 1000 });
  const runner = new FlowRunner({ db, log, owner: options.owner ?? `${hostname()}:${process.pid}`, leaseSeconds: config.flow_lease_seconds });
  const ctx: TaskContext = {
    db,
    log,
    raw,
    config,
    messaging,
    rpc,
    runner,
    secrets: new SecretBox(config.taskmanager_rpc_encr_key),
    secure: secureRpc(raw),
    guestBus: options.guestBus ?? guestBusOf(raw, messaging.transport_url, messaging.control_exchange, log),
    ...drivers(raw, config.compute_driver),
  };
  registerFlows(ctx);
  const server = new RpcServer(transport, log);
  // a cast is acknowledged once its flow is recorded; one the database could not take is put back
  await server.serve(TASKMANAGER_TOPIC, taskmanagerContract, taskmanagerHandlers(ctx), {
    serializer: ctx.secure.taskmanager,
    redeliverWhen: databaseUnavailable,
  });
  const resumed = await runner.resumeAll();
  if (resumed.length) log.info({ instances: resumed }, 'resuming unfinished flows');
  const stopSweeper = startSweeper(ctx);
  const stopScheduler = startBackupScheduler(ctx, options.scheduleClock);
  return {
    ctx,
    async stop() {
      stopSweeper();
      await stopScheduler();
      await server.close();
      await rpc.close();
      if (!options.transport) await transport.close();
      if (!options.db) await db.destroy();
    },
  };
}
