// The driver factory: which driver of each kind an OpenStack, a local and a local-behind-Keystone
// configuration get, one set of local drivers per process, and a bad value refused naming its key.
import test from 'ava';
import os from 'node:os';
import path from 'node:path';
import { cloudDrivers } from './factory.js';
import type { CatalogEntry, TokenInfo } from './identity.js';
import type { RequestContext } from '../common/context.js';
import { ConfigError } from '../common/errors.js';
import { KeystoneTokenValidator, KeystoneTrusts } from './openstack/keystone.js';
import { NovaCompute } from './openstack/nova.js';
import { NovaServers } from './openstack/nova-servers.js';
import { CinderBlockStorage } from './openstack/cinder.js';
import { CinderVolumes } from './openstack/cinder-volumes.js';
import { NeutronLookup, NeutronNetwork } from './openstack/neutron.js';
import { GlanceImages } from './openstack/glance.js';
import { SwiftObjectStore } from './openstack/swift.js';
import { AdminTokenValidator } from './local/admin-token.js';
import { LocalCompute } from './local/compute.js';
import { LocalVolumes } from './local/volume.js';
import { LocalNetwork, LocalZones } from './local/network.js';
import { LocalObjectStore } from './local/object-store.js';
import { QemuCompute } from './qemu/compute.js';
import { QemuVolumes } from './qemu/volumes.js';
import { ManagementWithCtlFallback } from './rabbitmq/guest-accounts.js';
import { EndpointNotFoundError } from './identity.js';

const keystone = { auth_url: 'http://keystone.test:5000/v3', username: 'trove', password: 'x', project_name: 'service', region_name: 'RegionOne' };
const local = { state_dir: path.join(os.tmpdir(), 'trove-ts-factory-test') };
const context = { authToken: 'caller-tok', projectId: 'p1' } as RequestContext;
const entry = (type: string, url: string): CatalogEntry => ({ type, name: type, endpoints: [{ url, region: 'RegionOne', interface: 'public' }] });
const info: TokenInfo = {
  userId: 'u',
  userName: 'u',
  projectId: 'p1',
  projectName: 'p',
  roles: ['member'],
  expiresAt: new Date(Date.now() + 3600_000),
  catalog: [entry('object-store', 'http://swift.test/v1/AUTH_p1')],
};

test('compute_driver = openstack behind Keystone: Keystone, Nova, Cinder, Neutron, Glance, Swift; RabbitMQ bus users', async (t) => {
  const d = cloudDrivers({
    DEFAULT: { compute_driver: 'openstack', transport_url: 'rabbit://trove:pw@127.0.0.1:5672/trove', management_networks: 'mgmt-net' },
    keystone_authtoken: keystone,
  });
  t.is(d.compute, 'openstack');
  t.is(d.identity, 'keystone');
  t.is(d.local, undefined);

  const api = d.api();
  t.true(api.tokens instanceof KeystoneTokenValidator);
  t.true(api.trusts instanceof KeystoneTrusts);
  t.falsy(api.loopbackOnly);
  t.is(api.wwwAuthenticateUri, 'http://keystone.test:5000');
  const user = api.userClients(context, info);
  t.true(user.compute instanceof NovaCompute);
  t.true(user.blockStorage instanceof CinderBlockStorage);
  t.true(user.network instanceof NeutronLookup);
  t.true(user.zones instanceof NovaCompute);
  // the caller's Swift, from the caller's catalog, with the caller's token
  t.deepEqual(await api.backupStorage(context, info), { driver: 'swift', url: 'http://swift.test/v1/AUTH_p1', auth_token: 'caller-tok' });

  const flows = d.flows();
  t.true(flows.compute instanceof NovaServers);
  t.true(flows.volumes instanceof CinderVolumes);
  t.true(flows.network instanceof NeutronNetwork);
  t.true(flows.objectStore({ driver: 'swift', url: 'http://swift.test/v1/AUTH_p1', auth_token: 't' }) instanceof SwiftObjectStore);
  t.throws(() => flows.objectStore({ driver: 'local' }), { instanceOf: ConfigError, message: /backups stored with 'local' cannot be reached/ });
  t.true(flows.scheduleTrusts?.delegation instanceof KeystoneTrusts);
  t.true(flows.guestBus?.accounts instanceof ManagementWithCtlFallback);
  t.regex(flows.guestBus!.transportUrl('i-1', 'pw-1'), /^rabbit:\/\/trove-guest-i-1:pw-1@127\.0\.0\.1:5672\/trove$/);

  t.true(d.images() instanceof GlanceImages);
});

test('[rabbit_management] guest_users = false, or a bus that is not RabbitMQ: no bus users of their own', (t) => {
  const off = cloudDrivers({
    DEFAULT: { transport_url: 'rabbit://trove:pw@127.0.0.1:5672/trove' },
    keystone_authtoken: keystone,
    rabbit_management: { guest_users: 'false' },
  });
  t.is(off.flows().guestBus, undefined);
  t.is(cloudDrivers({ DEFAULT: { compute_driver: 'local', transport_url: 'unix:///tmp/bus.sock' }, local }).flows().guestBus, undefined);
});

test('compute_driver = local without Keystone: the admin token on loopback, the local drivers, one of each for the API and the flows', async (t) => {
  const d = cloudDrivers({ DEFAULT: { compute_driver: 'local', admin_token: 'adm', admin_project_id: 'p-adm' }, local });
  t.is(d.compute, 'local');
  t.is(d.identity, 'admin-token');
  t.true(d.local?.compute instanceof LocalCompute);
  t.is(d.local?.config.state_dir, local.state_dir);

  const api = d.api();
  t.true(api.tokens instanceof AdminTokenValidator);
  t.is((await api.tokens.validate('adm')).projectId, 'p-adm');
  t.true(api.loopbackOnly);
  t.is(api.trusts, undefined);
  const user = api.userClients(context, info);
  t.is(user.compute, d.local!.compute);
  t.true(user.blockStorage instanceof LocalVolumes);
  t.true(user.zones instanceof LocalZones);
  t.is(user.network, undefined);
  t.deepEqual(await api.backupStorage(context, info), { driver: 'local' });

  const flows = d.flows();
  t.is(flows.compute, d.local!.compute);
  t.is(flows.volumes, d.local!.volumes);
  t.true(flows.network instanceof LocalNetwork);
  t.true(flows.objectStore({ driver: 'local' }) instanceof LocalObjectStore);
  t.is(flows.scheduleTrusts, undefined);
  t.is(d.images(), undefined);
});

test('compute_driver = qemu: virtual machines and qcow2 volumes for the flows, the flavors of [local] for the API', async (t) => {
  const d = cloudDrivers({ DEFAULT: { compute_driver: 'qemu', admin_token: 'adm', admin_project_id: 'p-adm' }, local });
  t.is(d.compute, 'qemu');
  t.is(d.local, undefined, 'no local servers to adopt');
  const flows = d.flows();
  t.true(flows.compute instanceof QemuCompute);
  t.true(flows.volumes instanceof QemuVolumes);
  t.true(flows.network instanceof LocalNetwork);
  t.true(flows.objectStore({ driver: 'local' }) instanceof LocalObjectStore);
  const user = d.api().userClients(context, info);
  t.true(user.compute instanceof LocalCompute, "flavors are [local]'s");
  t.deepEqual(await d.api().backupStorage(context, info), { driver: 'local' });
});

test("compute_driver = local behind Keystone: Keystone's tokens and trusts, the local compute, volumes and object store", async (t) => {
  const d = cloudDrivers({ DEFAULT: { compute_driver: 'local' }, keystone_authtoken: keystone, local });
  t.is(d.identity, 'keystone');
  const api = d.api();
  t.true(api.tokens instanceof KeystoneTokenValidator);
  t.true(api.trusts instanceof KeystoneTrusts);
  const user = api.userClients(context, { ...info, catalog: [entry('network', 'http://neutron.test:9696')] });
  t.true(user.compute instanceof LocalCompute);
  t.true(user.network instanceof NeutronLookup);
  t.true(user.zones instanceof LocalZones, 'no Nova in the catalog: the local zone');
  t.deepEqual(await api.backupStorage(context, info), { driver: 'local' });
  const flows = d.flows();
  t.true(flows.compute instanceof LocalCompute);
  t.true(flows.objectStore({ driver: 'local' }) instanceof LocalObjectStore);
  t.is(flows.scheduleTrusts, undefined);
  t.true(d.images() instanceof GlanceImages, 'trove-manage checks images in Glance whenever Keystone is configured');
});

test('compute_driver = openstack without Keystone: the API answers with no cloud, the taskmanager refuses to start', async (t) => {
  const d = cloudDrivers({ DEFAULT: { admin_token: 'adm' } });
  t.is(d.compute, 'openstack');
  const user = d.api().userClients(context, info);
  await t.throwsAsync(user.compute.listFlavors(), { instanceOf: EndpointNotFoundError });
  await t.throwsAsync(d.api().backupStorage(context, info), { instanceOf: EndpointNotFoundError });
  t.throws(() => d.flows(), { instanceOf: ConfigError, message: /^trove\.conf \[service_credentials\] auth_url: compute_driver = openstack needs a Keystone/ });
});

test('a bad value is refused naming its key', (t) => {
  t.throws(() => cloudDrivers({ DEFAULT: { compute_driver: 'nova' } }), { instanceOf: ConfigError, message: /^trove\.conf \[DEFAULT\] compute_driver: / });
  t.throws(() => cloudDrivers({ DEFAULT: { compute_driver: 'local' }, local: { address_subnet: 'x' } }), {
    instanceOf: ConfigError,
    message: /^trove\.conf \[local\] address_subnet: expected an integer/,
  });
  t.throws(() => cloudDrivers({ DEFAULT: {} }).api(), {
    instanceOf: ConfigError,
    message: /^trove\.conf \[keystone_authtoken\] auth_url: not set, and \[DEFAULT\] admin_token/,
  });
  t.throws(() => cloudDrivers({ DEFAULT: { management_networks: 'n' }, keystone_authtoken: { ...keystone, http_connect_timeout: '0' } }), {
    instanceOf: ConfigError,
    message: /^trove\.conf \[keystone_authtoken\] http_connect_timeout: expected an integer from 1/,
  });
});
