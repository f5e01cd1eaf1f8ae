// The cloud lab (tools/lab/cloud.sh: Swift, Glance, Nova with the fake driver, Neutron, Cinder API
// beside the lab Keystone) as the cloud tier sees it: identities, driver options from the real
// catalog, raw HTTP clients for asserting what the services really hold, the trove.conf sections
// of a control plane using it, and Glance images uploaded for a test.
import type { TestFn } from 'ava';
import axios, { type AxiosInstance } from 'axios';
import type { KeystoneServiceIdentity } from '../../src/clients/openstack/keystone.js';
import type { DriverOptions } from '../../src/clients/openstack/http.js';
import { cloudEnv, labIdentity } from '../../tools/lab/cloud-env.js';
import { DEMO, keystoneConfig } from './keystone-lab.js';
import { testSetting } from './settings.js';

export const cloud = cloudEnv();
export const REGION = cloud.LAB_REGION!;

/** trove-ts's service user (admin + service in the service project), as trove.conf names it. */
export const serviceIdentity = (): KeystoneServiceIdentity => labIdentity(cloud.TROVE_TS_USER!, cloud.TROVE_TS_PASS!, cloud.SERVICE_PROJECT!);
/** The demo user (member in demo): a cloud user's own token and catalog. */
export const demoIdentity = (): KeystoneServiceIdentity => labIdentity(DEMO.name, DEMO.password, DEMO.project);

export type ServiceType = 'compute' | 'image' | 'network' | 'volumev3' | 'object-store' | 'placement';

/** What a driver is built with: the catalog's public URL of `type` in the lab region, the identity's token. */
export function driverOptions(identity: KeystoneServiceIdentity, type: ServiceType): DriverOptions {
  return { endpoint: () => identity.endpoint({ type, region: REGION, interface: 'public' }), token: (fresh) => identity.token(fresh) };
}

/** Plain HTTP to a service with the identity's token (no trove-ts driver): what the service really holds. */
export async function rawClient(identity: KeystoneServiceIdentity, type: ServiceType, headers: Record<string, string> = {}): Promise<AxiosInstance> {
  const base = (await identity.endpoint({ type, region: REGION, interface: 'public' })).replace(/\/+$/, '');
  return axios.create({ baseURL: base, timeout: 30_000, headers: { 'X-Auth-Token': await identity.token(), ...headers }, validateStatus: () => true });
}

/** Nova at the microversion the driver speaks (server metadata, user_data for admins). */
export const rawNova = (identity: KeystoneServiceIdentity) => rawClient(identity, 'compute', { 'X-OpenStack-Nova-API-Version': '2.60' });

/** The id of the shared network the servers' ports go on (cloud.sh creates it). */
export async function managementNetworkId(): Promise<string> {
  const neutron = await rawClient(serviceIdentity(), 'network');
  const r = await neutron.get(`/v2.0/networks?name=${encodeURIComponent(cloud.CLOUD_NETWORK!)}`);
  const id = r.data?.networks?.[0]?.id as string | undefined;
  if (!id) throw new Error(`network ${cloud.CLOUD_NETWORK} not found: run tools/lab/cloud.sh up`);
  return id;
}

/** Uploads a few bytes as an active raw image in the identity's project; returns its id. */
export async function uploadImage(identity: KeystoneServiceIdentity, name: string, tags: string[] = []): Promise<string> {
  const glance = await rawClient(identity, 'image');
  const created = await glance.post('/v2/images', { name, disk_format: 'raw', container_format: 'bare', tags });
  if (created.status !== 201) throw new Error(`image create: HTTP ${created.status} ${JSON.stringify(created.data)}`);
  const id = created.data.id as string;
  const up = await glance.put(`/v2/images/${id}/file`, Buffer.from(`trove-ts cloud tier image ${name}\n`), {
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  if (up.status !== 204) throw new Error(`image upload: HTTP ${up.status}`);
  return id;
}

export async function deleteImage(identity: KeystoneServiceIdentity, id: string): Promise<void> {
  await (await rawClient(identity, 'image')).delete(`/v2/images/${id}`);
}

/** The trove.conf sections of a control plane on the cloud lab (compute_driver = openstack). */
export function cloudTroveConfig(networkId: string, extraDefaults: Record<string, string> = {}): Record<string, Record<string, string>> {
  return {
    ...keystoneConfig(),
    DEFAULT: {
      compute_driver: 'openstack',
      os_region_name: REGION,
      management_networks: networkId,
      trove_volume_support: 'false',
      ...extraDefaults,
    },
  };
}

/** Whether every service of the lab answers (a token with all six services in its catalog, Nova's compute service up). */
export async function cloudAvailable(): Promise<string | undefined> {
  try {
    const id = serviceIdentity();
    for (const type of ['compute', 'image', 'network', 'volumev3', 'object-store', 'placement'] as const)
      await id.endpoint({ type, region: REGION, interface: 'public' });
    const r = await (await rawNova(id)).get('/os-services?binary=nova-compute');
    if (!r.data?.services?.some((s: { state: string }) => s.state === 'up')) return 'nova-compute is not up';
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * The cloud tier's `test`: the lab must be up (npm test brings it up). Only in the quick local mode
 * (TROVE_TEST_SKIP_LAB=1) is a missing lab a skip instead of a failure.
 */
export async function cloudTest(test: TestFn): Promise<TestFn> {
  const missing = await cloudAvailable();
  if (!missing) return test;
  if (testSetting('TROVE_TEST_SKIP_LAB', '') === '1') return skipAll(test);
  test.before(() => {
    throw new Error(`the cloud lab is not up (${missing}): run tools/lab/cloud.sh up`);
  });
  return test;
}

/** A `test` whose tests are all reported as skipped and whose hooks (which would need a lab) never run. */
export function skipAll(test: TestFn): TestFn {
  const none = () => undefined;
  const skipped = Object.assign((title: string) => test.skip(title, none), {
    serial: (title: string) => test.serial.skip(title, none),
    before: none,
    beforeEach: none,
    afterEach: Object.assign(() => undefined, { always: none }),
    after: Object.assign(() => undefined, { always: none }),
  });
  return skipped as unknown as TestFn;
}
