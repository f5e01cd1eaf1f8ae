// Replicas at the API (the taskmanager is recorded, not run): POST /instances with replica_of and
// every Trove refusal, the replica's inherited flavor/volume/datastore and its quota, replica_of /
// replicas in the views, DELETE of a source with replicas (403), PUT/PATCH replica_of: null
// (detach: 400 on a non-replica, 422 when busy, 202 + DETACHING + detach_replica), promote
// (switchover) and eject (failover of a source whose heartbeat stopped).
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startApi, RecordingTaskManager, type Harness, flavorCompute } from '../helpers/api-harness.js';
import type { Flavor } from '../../src/clients/compute.js';
import { Tasks } from '../../src/common/instance-tasks.js';
import { ServiceStatuses } from '../../src/common/service-status.js';

const P = 'proj-repl';
const USER = { token: 'tok-repl-member', projectId: P, roles: ['member'] };
const OTHER = { token: 'tok-repl-other', projectId: 'proj-repl-other', roles: ['member'] };
const flavors: Flavor[] = [
  { id: 'ds1G', name: 'ds1G', ram: 1024, vcpus: 1, disk: 5, ephemeral: 0 },
  { id: 'ds2G', name: 'ds2G', ram: 2048, vcpus: 2, disk: 10, ephemeral: 0 },
];
const compute = flavorCompute(flavors);
const tm = new RecordingTaskManager();
let h: Harness;
const V = randomUUID();
const V_NOREPL = randomUUID();

test.before(async () => {
  h = await startApi({
    users: [USER, OTHER],
    taskmanager: tm,
    sqlite: true,
    userClients: () => ({ compute, blockStorage: { listVolumeTypes: async () => [{ id: 'vt1', name: 'ssd', is_public: true, description: null }] } }),
  });
  // [mariadb] replication_strategy is set; the other datastore has none
  h.deps.replicationStrategy = (manager) => (manager === 'mariadb' ? 'MariaDBGTIDReplication' : '');
  const ds = randomUUID();
  const other = randomUUID();
  await h.tdb.db('datastores').insert([
    { id: ds, name: 'mariadb', default_version_id: V },
    { id: other, name: 'keyvalue', default_version_id: V_NOREPL },
  ]);
  await h.tdb.db('datastore_versions').insert([
    { id: V, datastore_id: ds, name: '10.11', version: '10.11.19', manager: 'mariadb', image_id: 'img', packages: '', active: true },
    { id: V_NOREPL, datastore_id: other, name: '7', version: '7.0', manager: 'keyvalue', image_id: 'img', packages: '', active: true },
  ]);
});
test.after.always(() => h?.close());

const api = (tok = USER.token) => h.as(tok);
const base = `/v1.0/${P}/instances`;

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

async function source(name: string, datastore = 'mariadb', ready = true): Promise<string> {
  const r = await api().post(base, { instance: { name, flavorRef: 'ds2G', volume: { size: 3, type: 'ssd' }, datastore: { type: datastore } } });
  if (r.status !== 200) throw new Error(JSON.stringify(r.data));
  if (ready) await makeReady(r.data.instance.id);
  return r.data.instance.id;
}

const usage = async () =>
  Object.fromEntries((await api().get(`/v1.0/${P}/mgmt/quotas/${P}`)).data.quotas.map((x: { resource: string; in_use: number }) => [x.resource, x.in_use]));

test.serial("refusals: Trove's messages, never a 500", async (t) => {
  const src = await source('refusals-src');
  const building = await source('refusals-building', 'mariadb', false);
  const noRepl = await source('refusals-norepl', 'keyvalue');
  const theirs = (
    await api(OTHER.token).post(`/v1.0/${OTHER.projectId}/instances`, {
      instance: { name: 'x', flavorRef: 'ds1G', volume: { size: 1 }, datastore: { type: 'mariadb' } },
    })
  ).data.instance.id;
  const missing = randomUUID();
  const cases: Array<[Record<string, unknown>, number, string]> = [
    [{ flavorRef: 'ds1G' }, 400, 'Cannot specify flavor when creating replicas.'],
    [{ datastore: { type: 'mariadb' } }, 400, 'Cannot specify datastore when creating replicas.'],
    [{ volume: { size: 3 } }, 400, 'Cannot specify volume when creating replicas.'],
    [{ locality: 'anti-affinity' }, 400, 'Cannot specify locality when creating replicas.'],
    [{ databases: [{ name: 'shop' }] }, 400, 'Cannot create a replica with users or databases.'],
    [{ users: [{ name: 'app', password: 'Pw-123456' }] }, 400, 'Cannot create a replica with users or databases.'],
    [{ nics: [{ 'net-id': 'n', ip_address: '10.0.0.9' }] }, 400, 'Cannot specify IP address when creating replicas.'],
    // a deployment with no network service (here: no network lookup at all) refuses any network
    [
      { nics: [{ 'net-id': 'net-foreign' }] },
      400,
      'Network net-foreign cannot be used: this deployment has no network service, so there are no networks to choose from (omit nics).',
    ],
    [{ availability_zone: 'az-foreign' }, 400, 'The requested availability zone az-foreign is not available.'],
    [{ replica_of: missing }, 404, `Resource ${missing} cannot be found.`],
    [{ replica_of: theirs }, 404, `Resource ${theirs} cannot be found.`],
    [{ replica_of: noRepl }, 400, "Replication is not supported for the 'keyvalue' datastore."],
    [{ replica_of: building }, 422, `Instance ${building} is not currently available for an action to be performed (instance status was BUILD).`],
  ];
  const before = await usage();
  for (const [over, status, message] of cases) {
    const r = await api().post(base, { instance: { name: 'r', replica_of: src, ...over } });
    t.is(r.status, status, JSON.stringify(over));
    const fault = Object.values(r.data as Record<string, { code: number; message: string }>)[0]!;
    t.deepEqual(fault, { code: status, message }, JSON.stringify(over));
  }
  const count = await api().post(base, { instance: { name: 'many', flavorRef: 'ds1G', volume: { size: 1 }, replica_count: 2 } });
  t.deepEqual(count.data, { badRequest: { code: 400, message: 'Replica count only valid when creating replicas. Cannot create 2 instances.' } });
  t.is((await api().post(base, { instance: { name: 'r', replica_of: src, replica_count: 4 } })).status, 400);
  t.deepEqual(await usage(), before, 'nothing was charged');
});

let src: string;
let replicas: string[];

test.serial("replica_count 2: two replicas of the source's flavor, volume and version, named -1 and -2; answered with the last one", async (t) => {
  src = await source('primary');
  const before = await usage();
  const n = tm.calls.length;
  const r = await api().post(base, { instance: { name: 'copy', replica_of: src, replica_count: 2 } });
  t.is(r.status, 200, JSON.stringify(r.data));
  const i = r.data.instance;
  t.is(i.status, 'BUILD');
  t.is(i.name, 'copy-2');
  t.is(i.flavor.id, 'ds2G');
  t.deepEqual(i.volume, { size: 3 });
  t.deepEqual(i.datastore, { type: 'mariadb', version: '10.11', version_number: '10.11.19' });
  t.is(i.replica_of.id, src);
  t.regex(i.replica_of.links[0].href, new RegExp(`/instances/${src}$`));
  const casts = tm.calls.slice(n);
  t.deepEqual(
    casts.map(([m]) => m),
    ['create_instance', 'create_instance'],
  );
  replicas = casts.map(([, a]) => a.instance_id as string);
  t.is(replicas[1], i.id);
  for (const [, a] of casts) {
    t.is(a.slave_of_id, src);
    t.is(a.flavor_id, 'ds2G');
    t.is(a.volume_size, 3);
    t.is(a.volume_type, 'ssd');
    t.deepEqual(a.restore_storage, { driver: 'local' });
    t.is(a.backup_id, null);
    t.deepEqual(a.users, []);
  }
  const rows = await h.tdb.db('instances').whereIn('id', replicas).orderBy('name').select('name', 'slave_of_id');
  t.deepEqual(
    rows.map((x: { name: string; slave_of_id: string }) => [x.name, x.slave_of_id]),
    [
      ['copy-1', src],
      ['copy-2', src],
    ],
  );
  const after = await usage();
  t.deepEqual(
    { instances: after.instances - before.instances, ram: after.ram - before.ram, volumes: after.volumes - before.volumes },
    { instances: 2, ram: 4096, volumes: 6 },
  );
});

test.serial('views: replica_of on the replica, replicas on the source (show and list)', async (t) => {
  const shown = (await api().get(`${base}/${src}`)).data.instance;
  t.deepEqual(shown.replicas.map((x: { id: string }) => x.id).sort(), [...replicas].sort());
  t.false('replica_of' in shown);
  const list = (await api().get(base)).data.instances as Array<Record<string, any>>;
  t.is(list.find((x) => x.id === replicas[0])!.replica_of.id, src);
  t.is(list.find((x) => x.id === src)!.replicas.length, 2);
});

test.serial('a replica of a replica: 401', async (t) => {
  await makeReady(replicas[0]!);
  const r = await api().post(base, { instance: { name: 'deep', replica_of: replicas[0] } });
  t.deepEqual(r.data, { unauthorized: { code: 401, message: `Cannot create a replica of a replica ${replicas[0]}` } });
});

test.serial("DELETE of a source with replicas: 403 with Trove's body", async (t) => {
  const r = await api().delete(`${base}/${src}`);
  t.is(r.status, 403);
  t.deepEqual(r.data, { forbidden: { code: 403, message: 'Detach replicas before deleting replica source.' } });
  t.is((await h.tdb.db('instances').where({ id: src }).first('task_id')).task_id, Tasks.NONE.code);
});

test.serial('detach (PUT/PATCH replica_of: null): 400 on a non-replica, 422 while building, else DETACHING + detach_replica', async (t) => {
  const notReplica = await api().put(`${base}/${src}`, { instance: { replica_of: null } });
  t.deepEqual(notReplica.data, { badRequest: { code: 400, message: `Instance ${src} is not a replica.` } });
  const busy = await api().put(`${base}/${replicas[1]}`, { instance: { replica_of: null } });
  t.is(busy.status, 422);
  t.is(busy.data.unprocessableEntity.message, `Instance ${replicas[1]} is not currently available for an action to be performed (instance status was BUILD).`);
  const n = tm.calls.length;
  const ok = await api().put(`${base}/${replicas[0]}`, { instance: { replica_of: null } });
  t.is(ok.status, 202, JSON.stringify(ok.data));
  t.deepEqual(tm.calls.slice(n), [['detach_replica', { instance_id: replicas[0] }]]);
  const shown = (await api().get(`${base}/${replicas[0]}`)).data.instance;
  t.is(shown.status, 'DETACH');
  t.is(shown.replica_of.id, src, 'still a replica until the taskmanager detached it');
  t.is((await api().put(`${base}/${replicas[0]}`, { instance: { replica_of: null } })).status, 422, 'one task at a time');
  await makeReady(replicas[1]!);
  tm.failNext = true;
  const lost = await api().patch(`${base}/${replicas[1]}`, { instance: { replica_of: null } });
  t.is(lost.status, 503);
  t.is((await api().get(`${base}/${replicas[1]}`)).data.instance.status, 'ACTIVE', 'an unreachable taskmanager leaves the replica as it was');
  t.is((await api().patch(`${base}/${replicas[1]}`, { instance: { slave_of: null } })).status, 202);
  t.deepEqual(tm.calls.at(-1), ['detach_replica', { instance_id: replicas[1] }]);
  t.is((await api().put(`${base}/${replicas[0]}`, { instance: { replica_of: src } })).status, 400, 'only null detaches');
});

test.serial(
  'promote: 400 on a non-replica, 422 while a member of the set is busy, else PROMOTING on every member; eject: 400 unless a source whose heartbeat stopped, else EJECTING on every member',
  async (t) => {
    const p = await source('promo-src');
    const n = tm.calls.length;
    const made = await api().post(base, { instance: { name: 'promo', replica_of: p, replica_count: 2 } });
    t.is(made.status, 200);
    const [a, b] = tm.calls.slice(n).map(([, x]) => x.instance_id as string);
    await makeReady(a!);
    const notReplica = await api().post(`${base}/${p}/action`, { promote_to_replica_source: {} });
    t.deepEqual(notReplica.data, { badRequest: { code: 400, message: `Instance ${p} is not a replica.` } });
    const busy = await api().post(`${base}/${a}/action`, { promote_to_replica_source: {} });
    t.is(busy.status, 422, 'the other replica is still building');
    t.is(busy.data.unprocessableEntity.message, `Instance ${b} is not currently available for an action to be performed (instance status was BUILD).`);
    t.is((await h.tdb.db('instances').where({ id: p }).first('task_id')).task_id, Tasks.NONE.code, 'nothing left PROMOTING');
    await makeReady(b!);
    const before = tm.calls.length;
    const ok = await api().post(`${base}/${a}/action`, { promote_to_replica_source: {} });
    t.is(ok.status, 202, JSON.stringify(ok.data));
    t.deepEqual(tm.calls.slice(before), [['promote_to_replica_source', { instance_id: a }]]);
    for (const id of [p, a!, b!]) t.is((await api().get(`${base}/${id}`)).data.instance.status, 'PROMOTE');
    // eject: on the source of a set, only once its guest stopped reporting
    for (const id of [p, a!, b!]) await makeReady(id);
    const noSet = await api().post(`${base}/${a}/action`, { eject_replica_source: {} });
    t.deepEqual(noSet.data, { badRequest: { code: 400, message: `Instance ${a} is not a replica source.` } });
    const alive = await api().post(`${base}/${p}/action`, { eject_replica_source: {} });
    t.deepEqual(alive.data, { badRequest: { code: 400, message: `Replica Source ${p} cannot be ejected as it has a current heartbeat` } });
    await h.tdb
      .db('service_statuses')
      .where({ instance_id: p })
      .update({ updated_at: new Date(Date.now() - 3600_000) });
    const mark = tm.calls.length;
    const ej = await api().post(`${base}/${p}/action`, { eject_replica_source: {} });
    t.is(ej.status, 202, JSON.stringify(ej.data));
    t.deepEqual(tm.calls.slice(mark), [['eject_replica_source', { instance_id: p }]]);
    for (const id of [p, a!, b!]) t.is((await h.tdb.db('instances').where({ id }).first('task_id')).task_id, Tasks.EJECTING.code);
    t.is((await api().get(`${base}/${a}`)).data.instance.status, 'EJECT');
  },
);

test.serial(
  "resize volume of a source: its replicas grow with it (Trove's resize_volume), the quota takes every GB; a busy member or no quota takes nothing",
  async (t) => {
    const limit = async (resource: string, hard_limit: number) => {
      await h.tdb.db('quotas').where({ tenant_id: P, resource }).delete();
      await h.tdb.db('quotas').insert({ id: randomUUID(), tenant_id: P, resource, hard_limit });
    };
    for (const r of ['instances', 'ram', 'volumes']) await limit(r, 1_000_000);
    const p = await source('grow-src');
    const n = tm.calls.length;
    t.is((await api().post(base, { instance: { name: 'grow', replica_of: p, replica_count: 2 } })).status, 200);
    const [a, b] = tm.calls.slice(n).map(([, x]) => x.instance_id as string);
    await makeReady(p);
    // a busy replica: 422, nothing taken, nothing cast
    const before = await usage();
    const busy = await api().post(`${base}/${p}/action`, { resize: { volume: { size: 5 } } });
    t.is(busy.status, 422, JSON.stringify(busy.data));
    t.is((await h.tdb.db('instances').where({ id: p }).first('task_id')).task_id, Tasks.NONE.code, 'the source is not left RESIZING');
    t.deepEqual(await usage(), before);
    await makeReady(a!);
    await makeReady(b!);
    const mark = tm.calls.length;
    const ok = await api().post(`${base}/${p}/action`, { resize: { volume: { size: 5 } } });
    t.is(ok.status, 202, JSON.stringify(ok.data));
    t.deepEqual(
      tm.calls.slice(mark),
      [p, a, b].map((id) => ['resize_volume', { instance_id: id, new_size: 5 }]),
    );
    for (const id of [p, a!, b!]) t.is((await api().get(`${base}/${id}`)).data.instance.status, 'RESIZE');
    t.is((await usage()).volumes, before.volumes + 3 * (5 - 3));
    // the taskmanager's flow records each one's new size (shown by instance show)
    for (const id of [p, a!, b!]) await h.tdb.db('instances').where({ id }).update({ volume_size: 5 });
    for (const id of [p, a!, b!]) await makeReady(id);
    t.deepEqual(await Promise.all([a!, b!].map(async (id) => (await api().get(`${base}/${id}`)).data.instance.volume.size)), [5, 5]);
    // over the quota: 413, nothing taken
    await limit('volumes', (await usage()).volumes + 5);
    const over = await api().post(`${base}/${p}/action`, { resize: { volume: { size: 7 } } });
    t.is(over.status, 413, JSON.stringify(over.data));
    for (const id of [p, a!, b!]) t.is((await h.tdb.db('instances').where({ id }).first('task_id')).task_id, Tasks.NONE.code);
  },
);
