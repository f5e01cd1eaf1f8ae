// The one place that chooses the cloud drivers from the configuration. src/cmd calls it for
// trove-api, the taskmanager and the all-in-one (trove-manage for its image check) and hands what
// it returns to the services, which take their drivers as dependencies:
//   identity                 [keystone_authtoken] auth_url: Keystone; unset, the admin token ([DEFAULT] admin_token, loopback only)
//   compute, volume, network [DEFAULT] compute_driver: openstack (Nova, Cinder, Neutron, Swift), local (processes and
//   and object store         directories here) or qemu (virtual machines here booted from guest images; flavors from [local])
//   image                    Glance with the service's identity when Keystone is configured, none without
//   guests' bus accounts     [DEFAULT] transport_url: RabbitMQ users for rabbit:// ([rabbit_management] guest_users), else none
// A bad value stops the process naming the key (`trove.conf [DEFAULT] compute_driver: ...`).
import type { RawConfig } from '../common/config/reader.js';
import { configSection } from '../common/config/schema.js';
import { ConfigError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { messagingDefaults } from '../rpc/config.js';
import type { BackupStorage } from '../rpc/contracts/common.js';
import type { GuestBus } from './bus-accounts.js';
import { adminTokenSection, computeDriverSection, type ComputeDriverName } from './config.js';
import type { ApiDrivers, FlowDrivers, UserClients } from './drivers.js';
import { EndpointNotFoundError, type TokenInfo } from './identity.js';
import type { ImageService } from './image.js';
import type { ObjectStore } from './object-store.js';
import { AdminTokenValidator } from './local/admin-token.js';
import { LocalCompute } from './local/compute.js';
import { localSection, type LocalConfig } from './local/config.js';
import { LocalNetwork, LocalZones } from './local/network.js';
import { LocalObjectStore } from './local/object-store.js';
import { LocalVolumes } from './local/volume.js';
import { identityConfig, keystoneConfigured, type IdentityConfig } from './openstack/config.js';
import { serviceClients, serviceFlowDrivers, serviceIdentity, tokenValidator, userClients, userPlacement } from './openstack/factory.js';
import type { KeystoneServiceIdentity } from './openstack/keystone.js';
import { KeystoneTrusts } from './openstack/keystone.js';
import { SwiftObjectStore } from './openstack/swift.js';
import { busAccountsFromConfig, guestTransportUrl } from './rabbitmq/guest-accounts.js';
import { qemuFlowDrivers } from './qemu/factory.js';

/** The local drivers (compute_driver = local), one of each, shared by the API and the taskmanager of one process. */
export interface LocalDrivers {
  config: LocalConfig;
  compute: LocalCompute;
  volumes: LocalVolumes;
  objects: LocalObjectStore;
}

export interface CloudDrivers {
  /** [DEFAULT] compute_driver: whose compute, volume, network and object-store drivers. */
  readonly compute: ComputeDriverName;
  /** Keystone, or the admin token (no [keystone_authtoken] auth_url). */
  readonly identity: 'keystone' | 'admin-token';
  /** trove-api's: token validation, the caller's clients, where backups go, trusts. */
  api(): ApiDrivers;
  /** The taskmanager's: servers, volumes, security groups, object stores, schedules' trusts, guests' bus accounts. */
  flows(): FlowDrivers;
  /** Glance with the service's identity; undefined without Keystone (no image service to ask). */
  images(): ImageService | undefined;
  /** compute_driver = local: the drivers themselves (the all-in-one adopts, resumes and stops its servers with them). */
  readonly local?: LocalDrivers | undefined;
}

function noCloud(kind: string): never {
  throw new EndpointNotFoundError({ type: kind });
}

function localDrivers(config: LocalConfig): LocalDrivers {
  const volumes = new LocalVolumes(config);
  return { config, volumes, compute: new LocalCompute(config, (id) => volumes.dir(id)), objects: new LocalObjectStore(config) };
}

function keystoneApi(c: IdentityConfig, service: KeystoneServiceIdentity, local: LocalDrivers | undefined): Omit<ApiDrivers, 'wwwAuthenticateUri'> {
  const api = { tokens: tokenValidator(c, service), trusts: new KeystoneTrusts(c.service, service) };
  if (local) {
    // flavors and volume types are the local drivers'; the networks and zones a caller names are
    // checked where the caller's catalog offers a Neutron and a Nova (Horizon's launch form lists them)
    const clients = localClients(local);
    return {
      ...api,
      userClients: (context, info) => ({ ...clients, ...userPlacement(c, info, context.authToken) }),
      backupStorage: async () => ({ driver: 'local' }),
    };
  }
  return {
    ...api,
    userClients: (context, info) => userClients(c, info, context.authToken, service),
    backupStorage: async (context, info) => ({
      driver: 'swift',
      url: await userClients(c, info, context.authToken, service).objectStoreUrl(),
      auth_token: context.authToken,
    }),
  };
}

function adminTokenApi(raw: RawConfig, local: LocalDrivers | undefined): Omit<ApiDrivers, 'wwwAuthenticateUri'> {
  const admin = configSection(raw, 'DEFAULT', adminTokenSection);
  if (!admin.admin_token) {
    throw new ConfigError('trove.conf [keystone_authtoken] auth_url: not set, and [DEFAULT] admin_token is not set either (one is needed)');
  }
  const tokens = new AdminTokenValidator({ token: admin.admin_token, projectId: admin.admin_project_id });
  if (local) {
    // without a network service no network can be named, and the zone is the local one
    const clients = localClients(local);
    return { tokens, loopbackOnly: true, userClients: () => clients, backupStorage: async () => ({ driver: 'local' }) };
  }
  const none: UserClients = {
    compute: { listFlavors: async () => noCloud('compute'), getFlavor: async () => noCloud('compute') },
    blockStorage: { listVolumeTypes: async () => noCloud('volumev3') },
  };
  return { tokens, loopbackOnly: true, userClients: () => none, backupStorage: async () => noCloud('object-store') };
}

function localClients(local: LocalDrivers): UserClients {
  return { compute: local.compute, blockStorage: local.volumes, zones: new LocalZones() };
}

function openstackFlows(c: IdentityConfig, service: () => KeystoneServiceIdentity): Omit<FlowDrivers, 'guestBus'> {
  if (!keystoneConfigured(c)) {
    throw new ConfigError('trove.conf [service_credentials] auth_url: compute_driver = openstack needs a Keystone (or use compute_driver = local)');
  }
  const objectStore = (s: BackupStorage): ObjectStore => {
    if (s.driver !== 'swift' || !s.url || !s.auth_token) throw new ConfigError(`backups stored with '${s.driver}' cannot be reached from this taskmanager`);
    const { url, auth_token } = s;
    return new SwiftObjectStore({ endpoint: async () => url, token: async () => auth_token });
  };
  const scheduleTrusts = {
    delegation: new KeystoneTrusts(c.service, service()),
    swiftUrl: (info: TokenInfo, token: string) => userClients(c, info, token, service()).objectStoreUrl(),
  };
  return { ...serviceFlowDrivers(c, service()), objectStore, scheduleTrusts };
}

/** The guests' bus users the configuration asks for: RabbitMQ's (rabbit:// with guest_users), else none. */
function guestBusOf(raw: RawConfig, log: Logger | undefined): GuestBus | undefined {
  const { transport_url, control_exchange } = configSection(raw, 'DEFAULT', messagingDefaults);
  const b = busAccountsFromConfig(raw, transport_url, control_exchange, log);
  return b && { accounts: b.accounts, transportUrl: (id, password) => guestTransportUrl(b.target, id, password) };
}

export function cloudDrivers(raw: RawConfig, log?: Logger): CloudDrivers {
  const { compute_driver } = configSection(raw, 'DEFAULT', computeDriverSection);
  const c = identityConfig(raw);
  const keystone = keystoneConfigured(c);
  let held: KeystoneServiceIdentity | undefined;
  // one service identity (one token) for everything this process asks as the service
  const service = () => (held ??= serviceIdentity(c));
  const local = compute_driver === 'local' ? localDrivers(configSection(raw, 'local', localSection)) : undefined;
  // qemu VMs take their flavors (the API's) from [local] too; their servers and volumes are the qemu driver's
  const apiLocal = local ?? (compute_driver === 'qemu' ? localDrivers(configSection(raw, 'local', localSection)) : undefined);
  const wwwAuthenticateUri = c.authtoken.www_authenticate_uri ?? c.authtoken.auth_url?.replace(/\/v3\/?$/, '');
  return {
    compute: compute_driver,
    identity: keystone ? 'keystone' : 'admin-token',
    local,
    api: () => ({
      ...(keystone ? keystoneApi(c, service(), apiLocal) : adminTokenApi(raw, apiLocal)),
      wwwAuthenticateUri,
      ...(local ? { guestAgents: local.compute } : {}),
    }),
    flows: () => ({
      ...(compute_driver === 'qemu'
        ? qemuFlowDrivers(raw)
        : local
          ? { compute: local.compute, volumes: local.volumes, network: new LocalNetwork(), objectStore: () => local.objects }
          : openstackFlows(c, service)),
      guestBus: guestBusOf(raw, log),
    }),
    images: () => (keystone ? serviceClients(c, service()).images : undefined),
  };
}
