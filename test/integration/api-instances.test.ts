// /instances on a real Koa server and MariaDB: create (and every refusal), list paging, show,
// delete and actions with their state rules. The taskmanager is recorded, not run.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startApi, RecordingTaskManager, type Harness, flavorCompute } from '../helpers/api-harness.js';
import type { Flavor } from '../../src/clients/compute.js';
import { Tasks } from '../../src/common/instance-tasks.js';
import { ServiceStatuses } from '../../src/common/service-status.js';

const P = 'proj-inst';
const USER = { token: 'tok-inst-member', projectId: P, roles: ['member'] };
const ADMIN = { token: 'tok-inst-admin', projectId: 'proj-admin', roles: ['admin'] };
const OTHER = { token: 'tok-inst-other', projectId: 'proj-other', roles: ['member'] };
const flavors: Flavor[] = [
  { id: 'ds1G', name: 'ds1G', ram: 1024, vcpus: 1, disk: 5, ephemeral: 0 },
  { id: '7', name: 'm1.big', ram: 8192, vcpus: 4, disk: 20, ephemeral: 0 },
];
const compute = flavorCompute(flavors);
const tm = new RecordingTaskManager();
let h: Harness;
const DS = randomUUID();
const V = randomUUID();
const V_OFF = randomUUID();

test.before(async () => {
  h = await startApi({
    users: [USER, ADMIN, OTHER],
    taskmanager: tm,
    userClients: () => ({ compute, blockStorage: { listVolumeTypes: async () => [{ id: 'vt1', name: 'ssd', is_public: true, description: null }] } }),
  });
  await h.tdb.db('datastores').insert({ id: DS, name: 'mariadb', default_version_id: V });
  await h.tdb.db('datastore_versions').insert([
    { id: V, datastore_id: DS, name: '10.11', version: '10.11.19', manager: 'mariadb', image_id: 'img', packages: 'mariadb-server', active: true },
    { id: V_OFF, datastore_id: DS, name: '10.6', version: '10.6.1', manager: 'mariadb', image_id: 'img', packages: '', active: false },
  ]);
});
test.after.always(() => h?.close());

const api = (tok = USER.token) => h.as(tok);
const base = `/v1.0/${P}/instances`;
const good = (over: Record<string, unknown> = {}) => ({
  instance: { name: 'db1', flavorRef: 'ds1G', volume: { size: 2 }, datastore: { type: 'mariadb', version: '10.11' }, ...over },
});

test.serial('create answers 200 with a BUILD detail view and casts create_instance', async (t) => {
  const r = await api().post(base, good({ databases: [{ name: 'shop' }], users: [{ name: 'app', password: 'pw-Secret-1', databases: [{ name: 'shop' }] }] }));
  t.is(r.status, 200, JSON.stringify(r.data));
  const i = r.data.instance;
  t.is(i.status, 'BUILD');
  t.is(i.operating_status, '');
  t.is(i.name, 'db1');
  t.deepEqual(i.flavor.id, 'ds1G');
  t.deepEqual(i.datastore, { type: 'mariadb', version: '10.11', version_number: '10.11.19' });
  t.deepEqual(i.volume, { size: 2 });
  t.deepEqual(i.access, { is_public: false, allowed_cidrs: [] });
  t.regex(i.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  const [name, cast] = tm.calls.at(-1)!;
  t.is(name, 'create_instance');
  t.is(cast.instance_id, i.id);
  t.is(cast.datastore_manager, 'mariadb');
  t.deepEqual(cast.users, [{ name: 'app', password: 'pw-Secret-1', host: '%', databases: ['shop'] }]);
  const q = await api().get(`/v1.0/${P}/mgmt/quotas/${P}`);
  const usage = Object.fromEntries(q.data.quotas.map((x: { resource: string; in_use: number }) => [x.resource, x.in_use]));
  t.deepEqual(usage, { instances: 1, ram: 1024, volumes: 2, backups: 0 });
  t.false(h.logs.join('').includes('pw-Secret-1'));
});

test('bad create bodies get Trove 4xx bodies, never a 500', async (t) => {
  const cases: Array<[unknown, number, RegExp]> = [
    [{}, 400, /Validation error: body 'instance' is a required property/],
    [{ instance: {} }, 400, /^Validation error: instance 'name' is a required property$/],
    [{ instance: { name: 5, flavorRef: 'ds1G' } }, 400, /^Validation error: instance\['name'\] 5 is not of type 'string'$/],
    [{ instance: { name: 'x1' } }, 400, /^Resource None cannot be found\.$/],
    [good({ flavorRef: 'nosuchflavor' }), 400, /^Resource nosuchflavor cannot be found\.$/],
    [good({ datastore: { type: 'nosuchds', version: '1' } }), 404, /^Datastore 'nosuchds' cannot be found\.$/],
    [good({ datastore: { type: 'mariadb', version: '9' } }), 400, /Datastore version '9' cannot be found/],
    [good({ datastore: { type: 'mariadb', version: '10.6' } }), 400, /is not active/],
    [good({ volume: { size: 0 } }), 400, /Validation error/],
    [good({ volume: { size: -3 } }), 400, /Validation error/],
    [good({ volume: { size: 11 } }), 413, /cannot exceed maximum of 10 GB/],
    [good({ volume: undefined }), 400, /Volume size was not specified/],
    [good({ volume: { size: 1, type: 'nvme' } }), 400, /Volume type nvme cannot be found/],
    [good({ databases: [{ name: 'a' }, { name: 'a' }] }), 400, /databases share the same name/],
    [
      good({
        users: [
          { name: 'u', password: 'p' },
          { name: 'u', password: 'q' },
        ],
      }),
      400,
      /users share the same name and host/,
    ],
    [good({ users: [{ name: 'root', password: 'Pw-123456' }] }), 400, /'root' is a reserved user name/],
    [good({ users: [{ name: "a'b", password: 'Pw-123456' }] }), 400, /not a valid user name/],
    [good({ users: [{ name: 'u', password: 'Pw-123456', host: "%' OR 1" }] }), 400, /not a valid host/],
    [good({ databases: [{ name: 'shop.x' }] }), 400, /not a valid database name/],
    [good({ replica_of: randomUUID() }), 400, /^Cannot specify flavor when creating replicas\.$/],
    [good({ nics: [{ 'net-id': 'a' }, { 'net-id': 'b' }] }), 400, /Validation error/],
    [good({ access: { allowed_cidrs: ['10.0.0.0/33'] } }), 400, /Validation error/],
    // Trove's flavorref: at most 255 characters (a longer one went on to Nova)
    [good({ flavorRef: 'f'.repeat(256) }), 400, /^Validation error: instance\['flavorRef'\]/],
  ];
  for (const [body, status, message] of cases) {
    const r = await api().post(base, body);
    t.is(r.status, status, JSON.stringify(body));
    const fault = Object.values(r.data as Record<string, { code: number; message: string }>)[0]!;
    t.is(fault.code, status);
    t.regex(fault.message, message, JSON.stringify(body));
  }
});

test('volume given while volume support is off → 501', async (t) => {
  const off = await startApi({
    users: [USER],
    config: { trove_volume_support: 'false' },
    userClients: () => ({ compute, blockStorage: { listVolumeTypes: async () => [] } }),
  });
  t.teardown(() => off.close());
  await off.tdb.db('datastores').insert({ id: DS, name: 'mariadb', default_version_id: V });
  await off.tdb.db('datastore_versions').insert({ id: V, datastore_id: DS, name: '10.11', version: '10.11', manager: 'mariadb', active: true });
  const r = await off.as(USER.token).post(base, good());
  t.deepEqual(r.data, { notImplemented: { code: 501, message: 'Volume support is not enabled.' } });
});

test.serial('quota: the 11th instance or too much RAM is refused with 413 and nothing is stored', async (t) => {
  await h.as(ADMIN.token).put(`/v1.0/proj-admin/mgmt/quotas/${P}`, { quotas: { ram: 4096 } });
  const r = await api().post(base, good({ flavorRef: '7' }));
  t.is(r.status, 413);
  t.deepEqual(r.data.overLimit.message, "Quota exceeded for resources: ['ram'].");
  const names = (await h.tdb.db('instances').select('flavor_id')).map((x: { flavor_id: string }) => x.flavor_id);
  t.false(names.includes('7'));
  await h.as(ADMIN.token).put(`/v1.0/proj-admin/mgmt/quotas/${P}`, { quotas: { ram: -1 } });
});

test.serial('list pages newest first with limit and a next marker; other projects see nothing', async (t) => {
  for (const n of ['p1', 'p2', 'p3']) t.is((await api().post(base, good({ name: n }))).status, 200);
  const all = await api().get(base);
  const first = await api().get(`${base}?limit=2`);
  t.is(first.data.instances.length, 2);
  t.deepEqual(
    first.data.instances.map((i: { id: string }) => i.id),
    all.data.instances.slice(0, 2).map((i: { id: string }) => i.id),
  );
  const next = new URL(first.data.links[0].href);
  t.is(next.searchParams.get('marker'), first.data.instances[1].id);
  const second = await api().get(`${base}?limit=2&marker=${next.searchParams.get('marker')}`);
  t.deepEqual(second.data.instances[0].id, all.data.instances[2].id);
  const other = await api(OTHER.token).get(`/v1.0/${OTHER.projectId}/instances`);
  t.deepEqual(other.data, { instances: [] });
  const theirs = await api(OTHER.token).get(`/v1.0/${OTHER.projectId}/instances/${all.data.instances[0].id}`);
  t.is(theirs.status, 404);
  t.is(theirs.data.itemNotFound.message, `Resource ${all.data.instances[0].id} cannot be found.`);
});

async function makeReady(id: string) {
  await h.tdb
    .db('instances')
    .where({ id })
    .update({
      task_id: Tasks.NONE.code,
      task_description: Tasks.NONE.description,
      server_status: 'ACTIVE',
      addresses: JSON.stringify([{ address: '10.0.0.5', type: 'private', network: 'n' }]),
    });
  await h.tdb
    .db('service_statuses')
    .where({ instance_id: id })
    .update({ status_id: ServiceStatuses.HEALTHY.code, status_description: 'healthy', updated_at: new Date() });
}

test.serial('actions follow the state rules: 422 while building, 202 when ready, one at a time', async (t) => {
  const id = (await api().post(base, good({ name: 'acts' }))).data.instance.id;
  const early = await api().post(`${base}/${id}/action`, { restart: {} });
  t.is(early.status, 422);
  t.regex(early.data.unprocessableEntity.message, new RegExp(`Instance ${id} is not currently available for an action to be performed`));
  const del = await api().delete(`${base}/${id}`);
  t.deepEqual(del.data, { unprocessableEntity: { code: 422, message: `Instance ${id} is not ready. (Status is BUILD).` } });
  await makeReady(id);
  const shown = await api().get(`${base}/${id}`);
  t.is(shown.data.instance.status, 'ACTIVE');
  t.is(shown.data.instance.operating_status, 'HEALTHY');
  t.deepEqual(shown.data.instance.ip, ['10.0.0.5']);
  t.is((await api().post(`${base}/${id}/action`, { restart: {} })).status, 202);
  t.is((await api().get(`${base}/${id}`)).data.instance.status, 'REBOOT');
  t.is((await api().post(`${base}/${id}/action`, { restart: {} })).status, 422);
  t.deepEqual(tm.calls.at(-1), ['restart', { instance_id: id }]);
  await makeReady(id);
  t.regex((await api().post(`${base}/${id}/action`, { resize: { flavorRef: 'ds1G' } })).data.badRequest.message, /must be different/);
  t.regex((await api().post(`${base}/${id}/action`, { resize: { volume: { size: 2 } } })).data.badRequest.message, /must be larger/);
  t.is((await api().post(`${base}/${id}/action`, { resize: { volume: { size: 3 } } })).status, 202);
  t.deepEqual(tm.calls.at(-1), ['resize_volume', { instance_id: id, new_size: 3 }]);
  await makeReady(id);
  t.is((await api().post(`${base}/${id}/action`, { fly: {} })).status, 400);
  t.is((await api().post(`${base}/${id}/action`, { restart: {}, resize: {} })).status, 400);
  t.is((await api().post(`${base}/${id}/action`, { reset_status: {} })).status, 202);
  t.is((await api().delete(`${base}/${id}`)).status, 202);
  t.deepEqual(tm.calls.at(-1), ['delete_instance', { instance_id: id }]);
  t.is((await api().get(`${base}/${id}`)).data.instance.status, 'SHUTDOWN');
  t.is((await api().delete(`${base}/${id}`)).status, 202, 'a second delete is accepted (idempotent)');
  await h.tdb.db('instances').where({ id }).update({ deleted: true, deleted_at: new Date() });
  const gone = await api().post(`${base}/${id}/action`, { restart: {} });
  t.is(gone.status, 404, 'an action on a deleted instance');
  t.is((await api().get(`${base}/${id}`)).status, 404);
});

test.serial('an unreachable taskmanager leaves a visible ERROR with a fault and gives the quota back', async (t) => {
  const before = (await api().get(`/v1.0/${P}/mgmt/quotas/${P}`)).data.quotas.find((q: { resource: string }) => q.resource === 'instances').in_use;
  tm.failNext = true;
  const r = await api().post(base, good({ name: 'lost' }));
  t.is(r.status, 503);
  const row = await h.tdb.db('instances').where({ name: 'lost' }).first();
  const shown = await h.as(ADMIN.token).get(`/v1.0/proj-admin/instances/${row.id}`);
  t.is(shown.data.instance.status, 'ERROR');
  t.regex(shown.data.instance.fault.message, /taskmanager could not be reached/);
  const after = (await api().get(`/v1.0/${P}/mgmt/quotas/${P}`)).data.quotas.find((q: { resource: string }) => q.resource === 'instances').in_use;
  t.is(after, before);
});

test.serial('a mgmt action whose value is not an object is a 400 and takes nothing (was {"stop": null} stopping the instance)', async (t) => {
  const id = (await api().post(base, good({ name: 'mgmt-acts' }))).data.instance.id;
  await makeReady(id);
  const calls = tm.calls.length;
  const mgmt = (body: unknown) => h.as(ADMIN.token).post(`/v1.0/proj-admin/mgmt/instances/${id}/action`, body);
  for (const body of [
    { stop: null },
    { reboot: [false, {}] },
    { 'reset-task-status': 5 },
    { start: 'yes' },
    { stop: { now: true } },
    { migrate: { host: 7 } },
  ]) {
    const r = await mgmt(body);
    t.is(r.status, 400, JSON.stringify(body));
    t.is(typeof r.data.badRequest?.message, 'string');
  }
  t.is(tm.calls.length, calls, 'nothing was cast');
  t.is((await api().get(`${base}/${id}`)).data.instance.status, 'ACTIVE');
  t.is((await mgmt({ reboot: {} })).status, 202);
  t.deepEqual(tm.calls.at(-1), ['reboot', { instance_id: id }]);
});
