// Wires trove-api from its configuration and its drivers (identity, cloud clients: chosen by
// src/clients/factory.ts): database, policy, rate limits, the taskmanager's bus; then listens.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../common/errors.js';
import type { RawConfig } from '../common/config/reader.js';
import { configSection } from '../common/config/schema.js';
import { createLogger, type Logger } from '../common/log.js';
import { databaseSection } from '../db/config.js';
import { openDatabase, type Db } from '../db/connection.js';
import { SecretBox } from '../common/secret-box.js';
import { isLoopback } from '../clients/local/admin-token.js';
import type { ApiDrivers } from '../clients/drivers.js';
import { createApp } from './app.js';
import { apiDefaults, type ApiDefaults, datastoreNamesSection, datastoreReplicationSection, osloPolicySection, quotaDefaultsOf } from './config.js';
import type { ApiDeps, GuestApi, TaskManagerApi } from './deps.js';
import { Policy } from './policy/policy.js';
import { RateLimiter, rulesFromConfig } from './rate-limit.js';
import { transportFromConfig, messagingDefaults } from '../rpc/config.js';
import { RpcClient } from '../rpc/rpc.js';
import { TASKMANAGER_TOPIC, taskmanagerContract } from '../rpc/contracts/taskmanager.js';
import { guestContract, guestTopic } from '../rpc/contracts/guest.js';
import { secureRpc, secureRpcDefaults } from '../rpc/secure.js';
import { databaseCheck } from '../db/health.js';
import { healthcheckSection } from '../common/metrics/config.js';
import type { HealthCheck } from '../common/metrics/health.js';
import { guestVersionCap, upgradeLevelsSection } from '../rpc/upgrade-levels.js';
import { agentRpcVersionOf } from '../db/instances.js';
import { notifierFromConfig, type Notifier } from '../notifications/notifier.js';

export interface ApiServer {
  url: string;
  deps: ApiDeps;
  close(): Promise<void>;
}

export interface ApiOverrides {
  taskmanager?: TaskManagerApi;
  /** The bus the API talks to the taskmanager and the guests on (its owner closes it). */
  rpc?: RpcClient;
  log?: Logger;
  db?: Db;
  notifier?: Notifier;
}

/** The admin token mode (no Keystone) only on a loopback address. */
export function refuseExposedAdminToken(config: ApiDefaults, drivers: Pick<ApiDrivers, 'loopbackOnly'>): void {
  if (drivers.loopbackOnly && !isLoopback(config.bind_host)) {
    throw new ConfigError(`trove.conf [DEFAULT] bind_host: the admin token mode (no Keystone) only listens on loopback, not ${config.bind_host}`);
  }
}

/** trove-api's dependencies from its configuration and its drivers (src/clients/factory.ts chooses them; a test hands fakes). */
export function buildDeps(raw: RawConfig, drivers: ApiDrivers, overrides: ApiOverrides = {}): ApiDeps {
  const config = configSection(raw, 'DEFAULT', apiDefaults);
  // one access line per request: written in the background (see createLogger)
  const log = overrides.log ?? createLogger('trove-api', { level: config.log_level, sync: false });
  const db = overrides.db ?? openDatabase(configSection(raw, 'database', databaseSection));
  const policy = Policy.load(configSection(raw, 'oslo_policy', osloPolicySection).policy_file, { adminRoles: config.admin_roles });
  refuseExposedAdminToken(config, drivers);
  const { taskmanager_rpc_encr_key } = configSection(raw, 'DEFAULT', secureRpcDefaults);
  const messaging = configSection(raw, 'DEFAULT', messagingDefaults);
  let rpc = overrides.rpc;
  let ownRpc: RpcClient | undefined;
  if (!rpc && messaging.transport_url) {
    rpc = ownRpc = new RpcClient(transportFromConfig(raw, log), log, { timeoutMs: messaging.rpc_response_timeout * 1000 });
  }
  const noBus = (): never => {
    throw new Error('no bus configured ([DEFAULT] transport_url is empty)');
  };
  const secure = secureRpc(raw);
  const taskmanager =
    overrides.taskmanager ??
    (rpc
      ? rpc.stub(taskmanagerContract, TASKMANAGER_TOPIC, { serializer: secure.taskmanager })
      : new Proxy({} as TaskManagerApi, { get: () => async () => noBus() }));
  const bus = rpc;
  const levels = configSection(raw, 'upgrade_levels', upgradeLevelsSection);
  const notifier = overrides.notifier ?? notifierFromConfig(raw, log, { service: 'api', transport: rpc?.transport });
  const guest = (instanceId: string, encryptedKey: string | null): GuestApi =>
    bus
      ? bus.stub(guestContract, guestTopic(instanceId), {
          serializer: secure.guest(encryptedKey),
          // no verb newer than the agent speaks (its heartbeats) and [upgrade_levels] guestagent allows
          versionCap: async () => guestVersionCap(instanceId, await agentRpcVersionOf(db, instanceId), levels),
        })
      : new Proxy({} as GuestApi, { get: () => async () => noBus() });
  const datastoreNames = (manager: string) => configSection(raw, manager, datastoreNamesSection);
  const replicationStrategy = (manager: string) => configSection(raw, manager, datastoreReplicationSection).replication_strategy;
  const busHealth: HealthCheck = rpc
    ? rpc.healthCheck()
    : { name: 'bus', check: () => Promise.reject(new Error('no bus configured ([DEFAULT] transport_url is empty)')) };
  return {
    health: { checks: [databaseCheck(db), busHealth], detailed: configSection(raw, 'healthcheck', healthcheckSection).detailed },
    config,
    db,
    log,
    tokens: drivers.tokens,
    authorizer: policy,
    rateLimiter: new RateLimiter(rulesFromConfig(config)),
    quotaDefaults: quotaDefaultsOf(config),
    wwwAuthenticateUri: drivers.wwwAuthenticateUri,
    userClients: drivers.userClients,
    backupStorage: drivers.backupStorage,
    trusts: drivers.trusts && { delegation: drivers.trusts, box: new SecretBox(taskmanager_rpc_encr_key) },
    guestAgents: drivers.guestAgents,
    taskmanager,
    guest,
    secure,
    datastoreNames,
    replicationStrategy,
    notifier,
    close: async () => {
      await notifier.close();
      await ownRpc?.close();
    },
  };
}

export async function startApiServer(deps: ApiDeps): Promise<ApiServer> {
  const server = http.createServer(createApp(deps).callback());
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new ConfigError(`trove.conf [DEFAULT] bind_port: ${deps.config.bind_port} is already in use`) : err),
    );
    server.listen(deps.config.bind_port, deps.config.bind_host, resolve);
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
  return {
    url,
    deps,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await deps.close?.();
      await deps.db.destroy();
    },
  };
}
