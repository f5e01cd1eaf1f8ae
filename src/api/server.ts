// Wires trove-api from its configuration: database, identity (Keystone, or the all-in-one admin
// token), policy, rate limits, cloud clients, the taskmanager's bus; then listens.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { ConfigError } from '../common/errors.js';
import type { RawConfig } from '../common/config/reader.js';
import { configSection, opt } from '../common/config/schema.js';
import { createLogger, type Logger } from '../common/log.js';
import { databaseSection } from '../db/config.js';
import { openDatabase, type Db } from '../db/connection.js';
import { identityConfig, keystoneConfigured } from '../clients/openstack/config.js';
import { serviceIdentity, tokenValidator, userClients, userPlacement } from '../clients/openstack/factory.js';
import { KeystoneTrusts } from '../clients/openstack/keystone.js';
import { SecretBox } from '../common/secret-box.js';
import { AdminTokenValidator, isLoopback } from '../clients/local/admin-token.js';
import type { TokenValidator } from '../clients/identity.js';
import { EndpointNotFoundError } from '../clients/identity.js';
import { createApp } from './app.js';
import { computeDriverSection } from '../clients/config.js';
import { localSection } from '../clients/local/config.js';
import { LocalCompute } from '../clients/local/compute.js';
import { LocalVolumes } from '../clients/local/volume.js';
import { LocalZones } from '../clients/local/network.js';
import { apiDefaults, datastoreNamesSection, datastoreReplicationSection, osloPolicySection, quotaDefaultsOf } from './config.js';
import type { ApiDeps, GuestApi, TaskManagerApi, UserClients } from './deps.js';
import { Policy } from './policy/policy.js';
import { RateLimiter, rulesFromConfig } from './rate-limit.js';
import { transportFromConfig, messagingDefaults } from '../rpc/config.js';
import { RpcClient } from '../rpc/rpc.js';
import { TASKMANAGER_TOPIC, taskmanagerContract } from '../rpc/contracts/taskmanager.js';
import { guestContract, guestTopic } from '../rpc/contracts/guest.js';
import { secureRpc, secureRpcDefaults } from '../rpc/secure.js';

/** Identity without Keystone: a fixed admin token for one project (all-in-one, loopback only). */
export const adminTokenSection = z.object({
  admin_token: opt.optStr(),
  admin_project_id: opt.str('admin'),
});

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
}

function noCloud(kind: string): never {
  throw new EndpointNotFoundError({ type: kind });
}

export function buildDeps(raw: RawConfig, overrides: ApiOverrides = {}): ApiDeps {
  const config = configSection(raw, 'DEFAULT', apiDefaults);
  const log = overrides.log ?? createLogger('trove-api', { level: config.log_level });
  const db = overrides.db ?? openDatabase(configSection(raw, 'database', databaseSection));
  const identity = identityConfig(raw);
  const policy = Policy.load(configSection(raw, 'oslo_policy', osloPolicySection).policy_file, { adminRoles: config.admin_roles });

  let tokens!: TokenValidator;
  let clientsFor!: ApiDeps['userClients'];
  let backupStorage: ApiDeps['backupStorage'] = async () => noCloud('object-store');
  let trusts: ApiDeps['trusts'];
  const { compute_driver } = configSection(raw, 'DEFAULT', computeDriverSection);
  const { taskmanager_rpc_encr_key } = configSection(raw, 'DEFAULT', secureRpcDefaults);
  // qemu VMs (the VM tier) take their flavors from [local] too
  const local = compute_driver === 'local' || compute_driver === 'qemu' ? configSection(raw, 'local', localSection) : undefined;
  if (keystoneConfigured(identity)) {
    const service = serviceIdentity(identity);
    tokens = tokenValidator(identity, service);
    clientsFor = (context, info) => userClients(identity, info, context.authToken, service);
    trusts = { delegation: new KeystoneTrusts(identity.service, service), box: new SecretBox(taskmanager_rpc_encr_key) };
    backupStorage = async (context, info) => ({
      driver: 'swift',
      url: await userClients(identity, info, context.authToken, service).objectStoreUrl(),
      auth_token: context.authToken,
    });
  } else {
    const admin = configSection(raw, 'DEFAULT', adminTokenSection);
    if (!admin.admin_token) {
      throw new ConfigError('trove.conf [keystone_authtoken] auth_url: not set, and [DEFAULT] admin_token is not set either (one is needed)');
    }
    if (!isLoopback(config.bind_host)) {
      throw new ConfigError(`trove.conf [DEFAULT] bind_host: the admin token mode (no Keystone) only listens on loopback, not ${config.bind_host}`);
    }
    tokens = new AdminTokenValidator({ token: admin.admin_token, projectId: admin.admin_project_id });
    clientsFor = (): UserClients => ({
      compute: { listFlavors: async () => noCloud('compute'), getFlavor: async () => noCloud('compute') },
      blockStorage: { listVolumeTypes: async () => noCloud('volumev3') },
    });
  }
  if (local) {
    // The all-in-one drivers answer flavors and volume types whatever the identity is. Networks
    // and zones a caller names are checked where the caller's catalog offers a Neutron and a Nova
    // (behind Keystone, e.g. Horizon's launch form lists them); without a network service no
    // network can be named, and the zone is the local one.
    const volumes = new LocalVolumes(local);
    const clients: UserClients = { compute: new LocalCompute(local, (id) => volumes.dir(id)), blockStorage: volumes, zones: new LocalZones() };
    clientsFor = keystoneConfigured(identity) ? (context, info) => ({ ...clients, ...userPlacement(identity, info, context.authToken) }) : () => clients;
    backupStorage = async () => ({ driver: 'local' });
  }
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
  const guest = (instanceId: string, encryptedKey: string | null): GuestApi =>
    bus
      ? bus.stub(guestContract, guestTopic(instanceId), { serializer: secure.guest(encryptedKey) })
      : new Proxy({} as GuestApi, { get: () => async () => noBus() });
  const datastoreNames = (manager: string) => configSection(raw, manager, datastoreNamesSection);
  const replicationStrategy = (manager: string) => configSection(raw, manager, datastoreReplicationSection).replication_strategy;
  return {
    config,
    db,
    log,
    tokens,
    authorizer: policy,
    rateLimiter: new RateLimiter(rulesFromConfig(config)),
    quotaDefaults: quotaDefaultsOf(config),
    wwwAuthenticateUri: identity.authtoken.www_authenticate_uri ?? identity.authtoken.auth_url?.replace(/\/v3\/?$/, ''),
    userClients: clientsFor,
    backupStorage,
    trusts,
    taskmanager,
    guest,
    secure,
    datastoreNames,
    replicationStrategy,
    close: async () => {
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
