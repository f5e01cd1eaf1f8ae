// Builds the OpenStack drivers: with the service's own identity (taskmanager, trove-manage), or
// with a user's token and that token's catalog (the API's flavor and volume-type proxies).
// Which drivers a process gets is chosen in src/clients/factory.ts.
import type { TokenInfo } from '../identity.js';
import { EndpointNotFoundError, findEndpoint, type EndpointQuery } from '../identity.js';
import type { IdentityConfig } from './config.js';
import { KeystoneServiceIdentity, KeystoneTokenValidator } from './keystone.js';
import { NovaCompute } from './nova.js';
import { CinderBlockStorage } from './cinder.js';
import { GlanceImages } from './glance.js';
import { NovaServers } from './nova-servers.js';
import { CinderVolumes } from './cinder-volumes.js';
import { NeutronLookup, NeutronNetwork } from './neutron.js';

type Kind = 'compute' | 'volume' | 'image' | 'object-store' | 'network';

function query(c: IdentityConfig, kind: Kind): { query: EndpointQuery; override?: string | undefined } {
  const e = c.endpoints;
  const table = {
    compute: [e.nova_compute_service_type, e.nova_compute_endpoint_type, e.nova_compute_url],
    volume: [e.cinder_service_type, e.cinder_endpoint_type, e.cinder_url],
    image: [e.glance_service_type, e.glance_endpoint_type, e.glance_url],
    'object-store': [e.swift_service_type, e.swift_endpoint_type, e.swift_url],
    network: [e.neutron_service_type, e.neutron_endpoint_type, e.neutron_url],
  } as const;
  const [type, iface, override] = table[kind];
  return { query: { type, interface: iface, region: c.service.region_name ?? e.os_region_name }, override };
}

export function serviceIdentity(c: IdentityConfig): KeystoneServiceIdentity {
  return new KeystoneServiceIdentity(c.service);
}

export function tokenValidator(c: IdentityConfig, identity: KeystoneServiceIdentity): KeystoneTokenValidator {
  return new KeystoneTokenValidator(c.authtoken.auth_url!, identity, {
    cacheSeconds: c.authtoken.token_cache_time,
    maxEntries: c.authtoken.cache_max_entries,
    timeoutMs: c.authtoken.http_connect_timeout * 1000,
  });
}

export function serviceClients(c: IdentityConfig, identity: KeystoneServiceIdentity) {
  const opts = (kind: Kind) => {
    const { query: q, override } = query(c, kind);
    return { endpoint: async () => override ?? identity.endpoint(q), token: (fresh?: boolean) => identity.token(fresh) };
  };
  return {
    identity,
    compute: new NovaCompute(opts('compute')),
    blockStorage: new CinderBlockStorage(opts('volume')),
    images: new GlanceImages(opts('image')),
    endpointOptions: opts,
  };
}

/** The taskmanager's drivers: servers (on [DEFAULT] management_networks), volumes and security groups with the service's identity. */
export function serviceFlowDrivers(c: IdentityConfig, identity: KeystoneServiceIdentity) {
  const { endpointOptions } = serviceClients(c, identity);
  return {
    compute: new NovaServers(endpointOptions('compute'), c.endpoints.management_networks),
    volumes: new CinderVolumes(endpointOptions('volume')),
    network: new NeutronNetwork(endpointOptions('network')),
  };
}

/** The caller's endpoint of `kind` without asking anyone: a *_url override, or the caller's catalog. */
function callerEndpoint(c: IdentityConfig, info: TokenInfo, kind: Kind): string | undefined {
  const { query: q, override } = query(c, kind);
  if (override) return override.replace('%(tenant_id)s', info.projectId).replace('$(tenant_id)s', info.projectId);
  return findEndpoint(info.catalog, q);
}

/** Drivers acting with the caller's token, at the endpoints of the caller's catalog. */
export function userClients(c: IdentityConfig, info: TokenInfo, userToken: string, identity: KeystoneServiceIdentity) {
  const opts = (kind: Kind, timeoutMs?: number) => ({
    endpoint: async () => {
      const { query: q } = query(c, kind);
      const url = callerEndpoint(c, info, kind) ?? (await identity.endpoint(q).catch(() => undefined));
      if (!url) throw new EndpointNotFoundError(q);
      return url;
    },
    token: async () => userToken,
    ...(timeoutMs ? { timeoutMs } : {}),
  });
  const check = c.endpoints.placement_check_timeout * 1000;
  return {
    compute: new NovaCompute(opts('compute')),
    // the create-time checks: bounded, the caller waits for them
    zones: new NovaCompute(opts('compute', check)),
    blockStorage: new CinderBlockStorage(opts('volume')),
    network: new NeutronLookup(opts('network', check)),
    /** The caller's Swift account URL. */
    objectStoreUrl: () => opts('object-store').endpoint(),
  };
}

/**
 * For a control plane whose servers are not Nova's (compute_driver = local) behind Keystone: the
 * caller's Neutron and Nova when the caller's catalog lists them (or a *_url names them), else
 * nothing (there is then no network service and no zone service to ask).
 */
export function userPlacement(c: IdentityConfig, info: TokenInfo, userToken: string): { network?: NeutronLookup; zones?: NovaCompute } {
  const timeoutMs = c.endpoints.placement_check_timeout * 1000;
  const at = (kind: Kind) => {
    const url = callerEndpoint(c, info, kind);
    return url ? { endpoint: async () => url, token: async () => userToken, timeoutMs } : undefined;
  };
  const network = at('network');
  const compute = at('compute');
  return { ...(network ? { network: new NeutronLookup(network) } : {}), ...(compute ? { zones: new NovaCompute(compute) } : {}) };
}
