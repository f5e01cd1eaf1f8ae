// POST /instances with nics and availability_zone: checked with the caller's token (Neutron and
// Nova stood in by nock) before anything is stored or cast with the service's identity.
import { silentServer } from '../helpers/silent-server.js';
import test from 'ava';
import nock from 'nock';
import { randomUUID } from 'node:crypto';
import { startApi, flavorCompute, RecordingTaskManager, type Harness } from '../helpers/api-harness.js';
import { NeutronLookup } from '../../src/clients/openstack/neutron.js';
import { NovaCompute } from '../../src/clients/openstack/nova.js';

const P = 'proj-nets';
const USER = { token: 'tok-nets-member', projectId: P, roles: ['member'] };
// a deployment without a network service (the all-in-one): no network lookup at all
const P2 = 'proj-nonet';
const NONET = { token: 'tok-nonet-member', projectId: P2, roles: ['member'] };
const NEUTRON = 'http://neutron.test:9696';
const NOVA = 'http://nova.test:8774/v2.1';
const compute = flavorCompute([{ id: 'ds1G', name: 'ds1G', ram: 1024, vcpus: 1, disk: 5, ephemeral: 0 }]);
const tm = new RecordingTaskManager();
let h: Harness;
/** Set by the timeout test: a Neutron that accepts connections and never answers. */
let silentNeutron: string | undefined;
const CHECK_MS = 1000;
const DS = randomUUID();
const V = randomUUID();

test.before(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1/);
  h = await startApi({
    users: [USER, NONET],
    taskmanager: tm,
    userClients: (context) =>
      context.projectId === P2
        ? { compute, blockStorage: { listVolumeTypes: async () => [] } }
        : {
            compute,
            blockStorage: { listVolumeTypes: async () => [] },
            network: new NeutronLookup({ endpoint: async () => silentNeutron ?? NEUTRON, token: async () => context.authToken, timeoutMs: CHECK_MS }),
            zones: new NovaCompute({ endpoint: async () => NOVA, token: async () => context.authToken }),
          },
  });
  await h.tdb.db('datastores').insert({ id: DS, name: 'mariadb', default_version_id: V });
  await h.tdb
    .db('datastore_versions')
    .insert({ id: V, datastore_id: DS, name: '10.11', version: '10.11.19', manager: 'mariadb', image_id: 'img', packages: '', active: true });
});
test.afterEach.always(() => nock.cleanAll());
test.after.always(async () => {
  nock.enableNetConnect();
  await h?.close();
});

const base = `/v1.0/${P}/instances`;
const base2 = `/v1.0/${P2}/instances`;
const body = (over: Record<string, unknown>) => ({
  instance: { name: 'n1', flavorRef: 'ds1G', volume: { size: 1 }, datastore: { type: 'mariadb', version: '10.11' }, ...over },
});
const rows = async (project = P) => Number((await h.tdb.db('instances').where({ tenant_id: project }).count({ n: '*' }))[0]!.n);

test.serial("a network the caller can see (asked with the caller's token) is passed on", async (t) => {
  const scope = nock(NEUTRON, { reqheaders: { 'x-auth-token': USER.token } })
    .get('/v2.0/networks/net-own')
    .reply(200, { network: { id: 'net-own' } });
  const r = await h.as(USER.token).post(base, body({ nics: [{ 'net-id': 'net-own' }] }));
  t.is(r.status, 200, JSON.stringify(r.data));
  t.true(scope.isDone());
  const [name, cast] = tm.calls.at(-1)!;
  t.is(name, 'create_instance');
  t.deepEqual(
    (cast.nics as Array<{ network_id: string }>).map((n) => n.network_id),
    ['net-own'],
  );
});

test.serial("another project's network (404 with the caller's token) is a 400 and nothing is stored or cast", async (t) => {
  const scope = nock(NEUTRON, { reqheaders: { 'x-auth-token': USER.token } })
    .get('/v2.0/networks/net-foreign')
    .reply(404, {});
  const before = { calls: tm.calls.length, rows: await rows() };
  const r = await h.as(USER.token).post(base, body({ nics: [{ 'net-id': 'net-foreign' }] }));
  t.is(r.status, 400);
  t.deepEqual(r.data, { badRequest: { code: 400, message: 'Network net-foreign could not be found.' } });
  t.true(scope.isDone());
  t.is(tm.calls.length, before.calls);
  t.is(await rows(), before.rows);
  // network_id (trove-ts's spelling) is checked the same way
  nock(NEUTRON).get('/v2.0/networks/net-foreign').reply(404, {});
  const r2 = await h.as(USER.token).post(base, body({ nics: [{ network_id: 'net-foreign' }] }));
  t.is(r2.status, 400);
  t.is(tm.calls.length, before.calls);
});

test.serial('a Neutron that fails is a 503, not a 500, and nothing is cast', async (t) => {
  nock(NEUTRON).get('/v2.0/networks/net-x').times(3).reply(503, {});
  const before = { calls: tm.calls.length, rows: await rows() };
  const r = await h.as(USER.token).post(base, body({ nics: [{ 'net-id': 'net-x' }] }));
  t.is(r.status, 503, JSON.stringify(r.data));
  t.truthy(r.data.serviceUnavailable);
  t.is(tm.calls.length, before.calls);
  t.is(await rows(), before.rows);
});

test.serial("an availability zone is checked against the caller's zones", async (t) => {
  const zones = { availabilityZoneInfo: [{ zoneName: 'nova', zoneState: { available: true } }] };
  nock('http://nova.test:8774', { reqheaders: { 'x-auth-token': USER.token } })
    .get('/v2.1/os-availability-zone')
    .twice()
    .reply(200, zones);
  const before = tm.calls.length;
  const bad = await h.as(USER.token).post(base, body({ availability_zone: 'secret-az' }));
  t.is(bad.status, 400);
  t.deepEqual(bad.data, { badRequest: { code: 400, message: 'The requested availability zone secret-az is not available.' } });
  t.is(tm.calls.length, before);
  const ok = await h.as(USER.token).post(base, body({ availability_zone: 'nova' }));
  t.is(ok.status, 200, JSON.stringify(ok.data));
  t.is(tm.calls.at(-1)![1].availability_zone, 'nova');
});

test.serial("port-id is no key of Trove's nics: a 400 naming it, before Neutron is asked", async (t) => {
  const before = { calls: tm.calls.length, rows: await rows() };
  const r = await h.as(USER.token).post(base, body({ nics: [{ 'port-id': 'port-1' }] }));
  t.is(r.status, 400, JSON.stringify(r.data));
  t.regex(r.data.badRequest.message, /port-id/);
  t.is(tm.calls.length, before.calls);
  t.is(await rows(), before.rows);
  t.deepEqual(nock.pendingMocks(), []);
});

test.serial('without a network service a net-id is a 400 that says so; a create without nics goes on', async (t) => {
  const before = { calls: tm.calls.length, rows: await rows(P2) };
  for (const nic of [{ 'net-id': 'lab-net' }, { network_id: 'lab-net' }]) {
    const r = await h.as(NONET.token).post(base2, body({ nics: [nic] }));
    t.is(r.status, 400, JSON.stringify(r.data));
    t.deepEqual(r.data, {
      badRequest: {
        code: 400,
        message: 'Network lab-net cannot be used: this deployment has no network service, so there are no networks to choose from (omit nics).',
      },
    });
  }
  t.is(tm.calls.length, before.calls);
  t.is(await rows(P2), before.rows);
  const ok = await h.as(NONET.token).post(base2, body({}));
  t.is(ok.status, 200, JSON.stringify(ok.data));
  t.is(tm.calls.length, before.calls + 1);
});

test.serial('a Neutron that never answers is a 503 within the check timeout, and nothing is cast', async (t) => {
  const silent = await silentServer(t);
  silentNeutron = silent.url;
  t.teardown(() => (silentNeutron = undefined));
  const before = { calls: tm.calls.length, rows: await rows() };
  const started = Date.now();
  const r = await h.as(USER.token).post(base, body({ nics: [{ 'net-id': 'net-slow' }] }));
  const took = Date.now() - started;
  t.is(r.status, 503, JSON.stringify(r.data));
  t.regex(r.data.serviceUnavailable.message, /network is unavailable/);
  t.true(took < 5000, `answered after ${took} ms`);
  t.is(silent.connections(), 1);
  t.is(tm.calls.length, before.calls);
  t.is(await rows(), before.rows);
});
