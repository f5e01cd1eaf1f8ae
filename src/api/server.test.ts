// buildDeps on the drivers src/cmd chooses (src/clients/factory.ts): the create-time checks
// (networks, zones) for the local compute driver, behind Keystone the caller's Neutron and Nova
// when the caller's catalog lists them; the admin token only on loopback.
import { silentServer } from '../../test/helpers/silent-server.js';
import test from 'ava';
import nock from 'nock';
import os from 'node:os';
import path from 'node:path';
import { buildDeps } from './server.js';
import { cloudDrivers } from '../clients/factory.js';
import type { Db } from '../db/connection.js';
import type { CatalogEntry, TokenInfo } from '../clients/identity.js';
import type { RequestContext } from '../common/context.js';
import { BackendUnavailableError } from '../clients/errors.js';
import { ConfigError } from '../common/errors.js';

const NEUTRON = 'http://neutron.catalog.test:9696';
const NOVA = 'http://nova.catalog.test:8774/v2.1';
const local = { compute_driver: 'local', bind_host: '127.0.0.1' };
const localSection = { state_dir: path.join(os.tmpdir(), 'trove-ts-server-test') };
const deps = (raw: Record<string, Record<string, string>>) => {
  const conf = { ...raw, local: localSection };
  return buildDeps(conf, cloudDrivers(conf).api(), { db: {} as Db, taskmanager: {} as never });
};
const context = { authToken: 'caller-tok', projectId: 'p1' } as RequestContext;
const info = (catalog: CatalogEntry[]): TokenInfo => ({
  userId: 'u',
  userName: 'u',
  projectId: 'p1',
  projectName: 'p',
  roles: ['member'],
  expiresAt: new Date(Date.now() + 3600_000),
  catalog,
});
const entry = (type: string, url: string): CatalogEntry => ({ type, name: type, endpoints: [{ url, region: 'RegionOne', interface: 'public' }] });
const keystone = { auth_url: 'http://keystone.test:5000/v3', username: 'trove', password: 'x', project_name: 'service', region_name: 'RegionOne' };

test.before(() => {
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1/);
});
test.afterEach.always(() => nock.cleanAll());
test.after.always(() => nock.enableNetConnect());

test.serial('the all-in-one without Keystone: no network service, one local zone', async (t) => {
  const d = deps({ DEFAULT: { ...local, admin_token: 'adm' } });
  const c = d.userClients(context, info([]));
  t.is(c.network, undefined);
  t.deepEqual(await c.zones!.availabilityZones(), ['nova']);
});

test.serial("local compute behind Keystone: the caller's Neutron and Nova from the caller's catalog, with the caller's token", async (t) => {
  const d = deps({ DEFAULT: local, keystone_authtoken: keystone });
  const scope = nock(NEUTRON, { reqheaders: { 'x-auth-token': 'caller-tok' } })
    .get('/v2.0/networks/lab-net')
    .reply(200, { network: { id: 'lab-net' } })
    .get('/v2.0/networks/other-net')
    .reply(404, {});
  nock('http://nova.catalog.test:8774', { reqheaders: { 'x-auth-token': 'caller-tok' } })
    .get('/v2.1/os-availability-zone')
    .reply(200, { availabilityZoneInfo: [{ zoneName: 'az1', zoneState: { available: true } }] });
  const c = d.userClients(context, info([entry('network', NEUTRON), entry('compute', NOVA)]));
  t.deepEqual(await c.network!.findNetwork('lab-net'), { id: 'lab-net' });
  t.is(await c.network!.findNetwork('other-net'), undefined);
  t.deepEqual(await c.zones!.availabilityZones(), ['az1']);
  t.true(scope.isDone());
  // flavors stay the local driver's
  t.true((await c.compute.listFlavors()).length > 0);
});

test.serial('local compute behind Keystone, a catalog without Neutron or Nova: no network service, the local zone', async (t) => {
  const d = deps({ DEFAULT: local, keystone_authtoken: keystone });
  const c = d.userClients(context, info([entry('object-store', 'http://swift.test/v1/AUTH_p1')]));
  t.is(c.network, undefined);
  t.deepEqual(await c.zones!.availabilityZones(), ['nova']);
});

test.serial('[DEFAULT] placement_check_timeout bounds the lookups: a Neutron or Nova that never answers fails in that time', async (t) => {
  const silent = await silentServer(t);
  const url = silent.url;
  const catalog = [entry('network', url), entry('compute', `${url}/v2.1`)];
  const timed = async (p: Promise<unknown>) => {
    const started = Date.now();
    await t.throwsAsync(p, { instanceOf: BackendUnavailableError });
    return Date.now() - started;
  };
  // the cloud (Nova servers) and the local compute behind Keystone alike
  for (const DEFAULT of [
    { placement_check_timeout: '1', bind_host: '127.0.0.1' },
    { ...local, placement_check_timeout: '1' },
  ]) {
    const c = deps({ DEFAULT, keystone_authtoken: keystone }).userClients(context, info(catalog));
    for (const took of [await timed(c.network!.findNetwork('n')), await timed(c.zones!.availabilityZones())]) {
      t.true(took >= 900 && took < 4000, `answered after ${took} ms`);
    }
  }
});

test.serial('the admin token mode listens on loopback only: another bind_host is refused naming the key', (t) => {
  t.throws(() => deps({ DEFAULT: { ...local, admin_token: 'adm', bind_host: '0.0.0.0' } }), {
    instanceOf: ConfigError,
    message: /^trove\.conf \[DEFAULT\] bind_host: the admin token mode \(no Keystone\) only listens on loopback, not 0\.0\.0\.0$/,
  });
  t.notThrows(() => deps({ DEFAULT: { ...local, bind_host: '0.0.0.0' }, keystone_authtoken: keystone }), 'behind Keystone any address');
});
