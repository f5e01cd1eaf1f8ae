// Identity sections (keystonemiddleware's [keystone_authtoken], Trove's [service_credentials])
// and Trove's [DEFAULT] endpoint keys.
import { z } from 'zod';
import { opt } from '../../common/config/schema.js';
import type { RawConfig } from '../../common/config/reader.js';
import { configSection } from '../../common/config/schema.js';

const credentials = {
  auth_url: opt.optStr(),
  auth_type: opt.str('password'),
  username: opt.optStr(),
  password: opt.optStr(),
  project_name: opt.optStr(),
  user_domain_name: opt.str('Default'),
  project_domain_name: opt.str('Default'),
  region_name: opt.optStr(),
  interface: opt.str('public'),
  /** HTTP timeout for identity calls, seconds. */
  http_connect_timeout: opt.int(10, 1, 600),
};

export const keystoneAuthtokenSection = z.object({
  ...credentials,
  www_authenticate_uri: opt.optStr(),
  /** How long a validated token is trusted without asking Keystone again, seconds. */
  token_cache_time: opt.int(300, 0, 86400),
  /** trove-ts: bound on the validated-token cache. */
  cache_max_entries: opt.int(10000, 1, 10_000_000),
});

export const serviceCredentialsSection = z.object(credentials);

export type KeystoneAuthtokenConfig = z.output<typeof keystoneAuthtokenSection>;
export type ServiceCredentialsConfig = z.output<typeof serviceCredentialsSection>;

export const openstackDefaults = z.object({
  os_region_name: opt.str('RegionOne'),
  nova_compute_service_type: opt.str('compute'),
  cinder_service_type: opt.str('volumev3'),
  glance_service_type: opt.str('image'),
  swift_service_type: opt.str('object-store'),
  neutron_service_type: opt.str('network'),
  nova_compute_endpoint_type: opt.str('publicURL'),
  cinder_endpoint_type: opt.str('publicURL'),
  glance_endpoint_type: opt.str('publicURL'),
  swift_endpoint_type: opt.str('publicURL'),
  neutron_endpoint_type: opt.str('publicURL'),
  nova_compute_url: opt.optStr(),
  cinder_url: opt.optStr(),
  glance_url: opt.optStr(),
  swift_url: opt.optStr(),
  neutron_url: opt.optStr(),
  /** trove-ts: bound on the create-time checks asked with the caller's token (Neutron's network,
   * Nova's zones), seconds: an unreachable service is a 503 in this time, not in 30 s. */
  placement_check_timeout: opt.int(5, 1, 120),
  /** Networks every database server gets (Trove's management_networks): how guests reach the bus. */
  management_networks: opt.list([]),
});

export type OpenstackDefaults = z.output<typeof openstackDefaults>;

export interface IdentityConfig {
  authtoken: KeystoneAuthtokenConfig;
  service: ServiceCredentialsConfig;
  endpoints: OpenstackDefaults;
}

/** [service_credentials], with each unset key taken from [keystone_authtoken] (as Trove does). */
export function identityConfig(raw: RawConfig): IdentityConfig {
  const authtoken = configSection(raw, 'keystone_authtoken', keystoneAuthtokenSection);
  const own = configSection(raw, 'service_credentials', serviceCredentialsSection);
  const service: ServiceCredentialsConfig = { ...own };
  for (const k of ['auth_url', 'username', 'password', 'project_name', 'region_name'] as const) {
    service[k] ??= authtoken[k];
  }
  if (!raw.service_credentials?.user_domain_name) service.user_domain_name = authtoken.user_domain_name;
  if (!raw.service_credentials?.project_domain_name) service.project_domain_name = authtoken.project_domain_name;
  return { authtoken, service, endpoints: configSection(raw, 'DEFAULT', openstackDefaults) };
}

/** Whether a Keystone is configured at all (else the all-in-one admin token mode applies). */
export function keystoneConfigured(c: IdentityConfig): boolean {
  return Boolean(c.authtoken.auth_url);
}
