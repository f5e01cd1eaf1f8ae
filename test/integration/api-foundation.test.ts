// trove-api on a real Koa server and a real MariaDB: versions, auth, faults, datastores, limits, quotas.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startApi, type Harness } from '../helpers/api-harness.js';
import { Policy } from '../../src/api/policy/policy.js';

const ADMIN = { token: 'admin-token-3b1f', projectId: 'p-admin', roles: ['admin'] };
const MEMBER = { token: 'member-token-77aa', projectId: 'p-demo', roles: ['member'] };
const DS = randomUUID();
const V_ACTIVE = randomUUID();
const V_OLD = randomUUID();

let h: Harness;

test.before(async () => {
  h = await startApi({ users: [ADMIN, MEMBER], authorizer: Policy.load() });
  const db = h.tdb.db;
  await db('datastores').insert({ id: DS, name: 'mysql', default_version_id: null });
  await db('datastore_versions').insert([
    {
      id: V_ACTIVE,
      datastore_id: DS,
      name: '8.0',
      version: '8.0.39',
      manager: 'mysql',
      image_id: 'img-1',
      packages: '',
      image_tags: 'trove,mysql',
      active: true,
    },
    { id: V_OLD, datastore_id: DS, name: '5.7', version: '5.7.29', manager: 'mysql', image_id: 'img-0', packages: '', image_tags: '', active: false },
  ]);
  await db('datastores').where({ id: DS }).update({ default_version_id: V_ACTIVE });
  await db('datastore_configuration_parameters').insert([
    {
      id: randomUUID(),
      name: 'max_connections',
      datastore_version_id: V_ACTIVE,
      restart_required: false,
      min_size: '1',
      max_size: '100000',
      data_type: 'integer',
    },
    {
      id: randomUUID(),
      name: 'innodb_file_per_table',
      datastore_version_id: V_ACTIVE,
      restart_required: true,
      min_size: '0',
      max_size: '1',
      data_type: 'integer',
    },
  ]);
});

test.after.always(async () => {
  await h?.close();
});

const admin = () => h.as(ADMIN.token);
const member = () => h.as(MEMBER.token);

test('GET / lists v1.0 without a token, with a request id', async (t) => {
  const r = await h.as().get('/');
  t.is(r.status, 200);
  t.is(r.data.versions[0].id, 'v1.0');
  t.is(r.data.versions[0].status, 'CURRENT');
  t.regex(r.data.versions[0].links[0].href, /^http:\/\/127\.0\.0\.1:\d+\/v1\.0\/$/);
  t.regex(r.headers['x-openstack-request-id'], /^req-[0-9a-f-]{36}$/);
  const v = await h.as().get('/v1.0');
  t.is(v.data.version.id, 'v1.0');
});

test('no token and a bad token get keystonemiddleware 401 with Www-Authenticate', async (t) => {
  for (const r of [await h.as().get('/v1.0/p-admin/datastores'), await h.as('bogus').get('/v1.0/p-admin/instances')]) {
    t.is(r.status, 401);
    t.deepEqual(r.data, { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } });
    t.is(r.headers['www-authenticate'], 'Keystone uri="http://127.0.0.1:5000"');
    t.truthy(r.headers['x-openstack-request-id']);
  }
});

test("a token of another project than the URL's gets Trove's 403", async (t) => {
  const r = await member().get('/v1.0/p-admin/datastores');
  t.is(r.status, 403);
  t.is(r.data.code, '403 Forbidden');
  t.regex(r.data.message, /User with tenant id p-demo cannot access this resource/);
});

test('unknown route → 404 itemNotFound; wrong method → 405 badMethod', async (t) => {
  const r = await admin().get('/v1.0/p-admin/nosuchthing');
  t.is(r.status, 404);
  t.is(r.data.itemNotFound.code, 404);
  const o = await h.as().get('/nothing-here');
  t.is(o.status, 404);
  const m = await admin().post('/v1.0/p-admin/flavors', {});
  t.is(m.status, 405);
  t.is(m.data.badMethod.code, 405);
});

test('malformed JSON → 400 webob body; a body over 1 MiB → 413 overLimit', async (t) => {
  const bad = await admin().put('/v1.0/p-admin/mgmt/quotas/p-admin', '{bad json', { headers: { 'Content-Type': 'application/json' } });
  t.is(bad.status, 400);
  t.deepEqual(bad.data, { message: 'Malformed request body<br /><br />\n\n\n', code: '400 Bad Request', title: 'Bad Request' });
  const huge = await admin().put('/v1.0/p-admin/mgmt/quotas/p-admin', JSON.stringify({ quotas: { x: 'a'.repeat(1024 * 1024 + 10) } }), {
    headers: { 'Content-Type': 'application/json' },
  });
  t.is(huge.status, 413);
  t.is(huge.data.overLimit.code, 413);
});

test('datastores: admin sees every version with admin fields, a member only active ones', async (t) => {
  const a = await admin().get('/v1.0/p-admin/datastores');
  t.is(a.status, 200);
  const ds = a.data.datastores.find((d: { name: string }) => d.name === 'mysql');
  t.is(ds.id, DS);
  t.is(ds.default_version, V_ACTIVE);
  t.is(ds.versions.length, 2);
  const v8 = ds.versions.find((v: { id: string }) => v.id === V_ACTIVE);
  t.deepEqual(v8, {
    id: V_ACTIVE,
    name: '8.0',
    version: '8.0.39',
    links: [
      { href: `https://${new URL(h.url).host}/v1.0/p-admin/datastores/versions/${V_ACTIVE}`, rel: 'self' },
      { href: `https://${new URL(h.url).host}/datastores/versions/${V_ACTIVE}`, rel: 'bookmark' },
    ],
    active: 1,
    packages: '',
    image: 'img-1',
    image_tags: ['trove', 'mysql'],
  });
  const m = await member().get('/v1.0/p-demo/datastores');
  const mds = m.data.datastores[0];
  t.deepEqual(
    mds.versions.map((v: { name: string }) => v.name),
    ['8.0'],
  );
  t.is(mds.versions[0].active, undefined);
  t.is(mds.links[0].href.includes('/v1.0/p-demo/datastores/'), true);
});

test('datastore show by name and id; unknown → 404 with its name', async (t) => {
  const byName = await member().get('/v1.0/p-demo/datastores/mysql');
  const byId = await member().get(`/v1.0/p-demo/datastores/${DS}`);
  t.is(byName.data.datastore.id, DS);
  t.deepEqual(byName.data, byId.data);
  const none = await member().get('/v1.0/p-demo/datastores/nosuchds');
  t.is(none.status, 404);
  t.deepEqual(none.data, { itemNotFound: { code: 404, message: "Datastore 'nosuchds' cannot be found." } });
});

test('versions: list, show by name and by uuid, unknown → 400', async (t) => {
  const list = await member().get('/v1.0/p-demo/datastores/mysql/versions');
  t.deepEqual(
    list.data.versions.map((v: { name: string }) => v.name),
    ['8.0'],
  );
  t.is(list.data.versions[0].datastore, DS);
  const show = await member().get('/v1.0/p-demo/datastores/mysql/versions/8.0');
  t.is(show.data.version.id, V_ACTIVE);
  const byUuid = await member().get(`/v1.0/p-demo/datastores/versions/${V_ACTIVE}`);
  t.is(byUuid.data.version.name, '8.0');
  const none = await member().get('/v1.0/p-demo/datastores/mysql/versions/9.9');
  t.is(none.status, 400);
  t.deepEqual(none.data, { badRequest: { code: 400, message: "Datastore version '9.9' cannot be found." } });
});

test('configuration parameters of a version, list and one', async (t) => {
  const r = await member().get('/v1.0/p-demo/datastores/mysql/versions/8.0/parameters');
  t.is(r.status, 200);
  const mc = r.data['configuration-parameters'].find((p: { name: string }) => p.name === 'max_connections');
  t.deepEqual(mc, { name: 'max_connections', datastore_version_id: V_ACTIVE, restart_required: false, type: 'integer', max: 100000, min: 1 });
  const one = await member().get(`/v1.0/p-demo/datastores/versions/${V_ACTIVE}/parameters/innodb_file_per_table`);
  t.is(one.data.restart_required, true);
  const none = await member().get(`/v1.0/p-demo/datastores/versions/${V_ACTIVE}/parameters/nope`);
  t.is(none.status, 404);
});

test('limits: absolute quota limits and per-verb rate limits', async (t) => {
  const r = await member().get('/v1.0/p-demo/limits');
  t.is(r.status, 200);
  t.deepEqual(r.data.limits[0], { verb: 'ABSOLUTE', max_instances: 10, max_ram: -1, max_backups: 50, max_volumes: 40 });
  const get = r.data.limits.find((l: { verb: string; uri: string }) => l.verb === 'GET' && l.uri === '*');
  t.is(get.value, 200);
  t.is(get.unit, 'MINUTE');
  t.true(get.remaining < 200);
  t.regex(get.nextAvailable, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

test('quotas: show own, refuse others to a member, admin updates with validation', async (t) => {
  const own = await member().get('/v1.0/p-demo/mgmt/quotas/p-demo');
  t.is(own.status, 200);
  t.deepEqual(
    own.data.quotas.find((q: { resource: string }) => q.resource === 'instances'),
    { resource: 'instances', in_use: 0, reserved: 0, limit: 10 },
  );
  const other = await member().get('/v1.0/p-demo/mgmt/quotas/p-admin');
  t.is(other.status, 403);
  const upd = await admin().put('/v1.0/p-admin/mgmt/quotas/p-demo', { quotas: { instances: 3, ram: 4096 } });
  t.is(upd.status, 200);
  t.deepEqual(upd.data, { quotas: { instances: 3, ram: 4096 } });
  const after = await member().get('/v1.0/p-demo/limits');
  t.is(after.data.limits[0].max_instances, 3);
  t.is(after.data.limits[0].max_ram, 4096);
  const neg = await admin().put('/v1.0/p-admin/mgmt/quotas/p-demo', { quotas: { instances: -2 } });
  t.is(neg.status, 400);
  const unknown = await admin().put('/v1.0/p-admin/mgmt/quotas/p-demo', { quotas: { gpus: 1 } });
  t.is(unknown.status, 404);
  t.regex(unknown.data.itemNotFound.message, /gpus/);
  const wrongType = await admin().put('/v1.0/p-admin/mgmt/quotas/p-demo', { quotas: { instances: 'ten' } });
  t.is(wrongType.status, 400);
  t.regex(wrongType.data.badRequest.message, /^Validation error: /);
});

test('every request is one JSON log line without the token', async (t) => {
  await member().get('/v1.0/p-demo/datastores');
  const lines = h.logs
    .join('')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const line = lines.find((l) => l.msg === 'request' && l.path === '/v1.0/p-demo/datastores');
  t.truthy(line);
  t.is(line.status, 200);
  t.is(line.project_id, 'p-demo');
  t.false(h.logs.join('').includes(MEMBER.token));
  t.false(h.logs.join('').includes(ADMIN.token));
});
