// PATCH /instances/{id} {"instance": {"datastore_version": ...}} (`openstack database instance
// upgrade`) on a real Koa server and MariaDB: Trove's rules and error bodies, the UPGRADE status,
// a source taken with its replicas. The taskmanager is recorded, not run.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startApi, RecordingTaskManager, type Harness, flavorCompute } from '../helpers/api-harness.js';
import { Tasks } from '../../src/common/instance-tasks.js';
import { ServiceStatuses } from '../../src/common/service-status.js';

const P = 'proj-upgrade';
const USER = { token: 'tok-upg-member', projectId: P, roles: ['member'] };
// the PostgreSQL cases in a project of their own (the instance quota)
const PG_USER = { token: 'tok-upg-pg', projectId: 'proj-upgrade-pg', roles: ['member'] };
const compute = flavorCompute([{ id: 'ds1G', name: 'ds1G', ram: 1024, vcpus: 1, disk: 5, ephemeral: 0 }]);
const tm = new RecordingTaskManager();
let h: Harness;
const DS = randomUUID();
const OLD = randomUUID();
const NEW = randomUUID();
const OFF = randomUUID();
const OLDER = randomUUID();
const OTHER_DS = randomUUID();
const OTHER_V = randomUUID();
const PG = randomUUID();
const PG13 = randomUUID();
const PG15 = randomUUID();

test.before(async () => {
  h = await startApi({ users: [USER, PG_USER], taskmanager: tm, userClients: () => ({ compute, blockStorage: { listVolumeTypes: async () => [] } }) });
  await h.tdb.db('datastores').insert([
    { id: DS, name: 'mariadb', default_version_id: OLD },
    { id: OTHER_DS, name: 'redis', default_version_id: OTHER_V },
    { id: PG, name: 'postgresql', default_version_id: PG15 },
  ]);
  const v = (id: string, datastore_id: string, name: string, version: string, manager: string, active = true) => ({
    id,
    datastore_id,
    name,
    version,
    manager,
    image_id: 'img',
    packages: '',
    active,
    // as the all-in-one registers a detected PostgreSQL: the strategy says its replicas stream WAL
    repl_strategy: manager === 'postgresql' ? 'PostgresqlReplication' : null,
  });
  await h.tdb
    .db('datastore_versions')
    .insert([
      v(OLD, DS, '10.11.18', '10.11.18', 'mariadb'),
      v(NEW, DS, '10.11.19', '10.11.19', 'mariadb'),
      v(OFF, DS, '10.11.20', '10.11.20', 'mariadb', false),
      v(OLDER, DS, '10.11.9', '10.11.9', 'mariadb'),
      v(OTHER_V, OTHER_DS, '7.0', '7.0.15', 'redis'),
      v(PG13, PG, '13', '13.23', 'postgresql'),
      v(PG15, PG, '15', '15.20', 'postgresql'),
    ]);
});
test.after.always(() => h?.close());

let asPg = false;
const api = () => h.as(asPg ? PG_USER.token : USER.token);
const base = `/v1.0/${P}/instances`;
const baseOf = () => (asPg ? `/v1.0/${PG_USER.projectId}/instances` : base);
const upgrade = (id: string, version: string) => api().patch(`${baseOf()}/${id}`, { instance: { datastore_version: version } });

async function readyInstance(name: string, datastore = { type: 'mariadb', version: '10.11.18' }): Promise<string> {
  const r = await api().post(baseOf(), { instance: { name, flavorRef: 'ds1G', volume: { size: 1 }, datastore } });
  if (r.status !== 200) throw new Error(JSON.stringify(r.data));
  const id = r.data.instance.id as string;
  await makeReady(id);
  return id;
}

async function makeReady(id: string) {
  await h.tdb.db('instances').where({ id }).update({ task_id: Tasks.NONE.code, task_description: Tasks.NONE.description, server_status: 'ACTIVE' });
  await h.tdb
    .db('service_statuses')
    .where({ instance_id: id })
    .update({ status_id: ServiceStatuses.HEALTHY.code, status_description: 'healthy', updated_at: new Date() });
}

test.serial('an upgrade by name answers 202, shows UPGRADE and casts upgrade with the target version id', async (t) => {
  const id = await readyInstance('up-ok');
  const r = await upgrade(id, '10.11.19');
  t.is(r.status, 202, JSON.stringify(r.data));
  const shown = (await api().get(`${base}/${id}`)).data.instance;
  t.is(shown.status, 'UPGRADE');
  t.deepEqual(shown.datastore, { type: 'mariadb', version: '10.11.18', version_number: '10.11.18' }, 'the version changes when the upgrade succeeded');
  const [verb, args] = tm.calls.at(-1)!;
  t.is(verb, 'upgrade');
  t.is(args.instance_id, id);
  t.is(args.datastore_version_id, NEW);
  t.deepEqual(args.storage, { driver: 'local' });
  // busy: a second upgrade is Trove's 422
  const again = await upgrade(id, NEW);
  t.is(again.status, 422);
  t.regex(again.data.unprocessableEntity.message, /not currently available for an action to be performed \(task status was UPGRADING\)/);
});

test.serial('the target must be a known, active, newer version of the same datastore', async (t) => {
  const id = await readyInstance('up-bad');
  const calls = tm.calls.length;
  const other = await upgrade(id, OTHER_V);
  t.is(other.status, 400);
  t.regex(other.data.badRequest.message, /is a version of datastore 'redis'.*of datastore 'mariadb'/);
  t.deepEqual(await upgrade(id, '11.9').then((r) => r.data), { badRequest: { code: 400, message: "Datastore version '11.9' cannot be found." } });
  t.deepEqual(await upgrade(id, '10.11.20').then((r) => r.data), { badRequest: { code: 400, message: "Datastore version '10.11.20' is not active." } });
  const same = await upgrade(id, '10.11.18');
  t.is(same.status, 400);
  t.regex(same.data.badRequest.message, /already on datastore version '10.11.18'/);
  const older = await upgrade(id, '10.11.9');
  t.is(older.status, 409);
  t.regex(older.data.conflict.message, /'10.11.9' \(10.11.9\) is not newer than the instance's '10.11.18'.*downgrades are not supported/);
  const empty = await api().patch(`${base}/${id}`, { instance: { datastore_version: '' } });
  t.is(empty.status, 400);
  t.is((await upgrade(randomUUID(), NEW)).status, 404, 'an unknown instance');
  t.is(tm.calls.length, calls, 'nothing was cast');
  t.is((await api().get(`${base}/${id}`)).data.instance.status, 'ACTIVE', 'nothing was taken');
});

test.serial('during a backup the instance is not available (422, status BACKUP)', async (t) => {
  const id = await readyInstance('up-backup');
  await h.tdb.db('backups').insert({
    id: randomUUID(),
    name: 'running',
    tenant_id: P,
    instance_id: id,
    state: 'BUILDING',
    datastore_version_id: OLD,
    backup_type: 'full',
    deleted: false,
    created: new Date(),
    updated: new Date(),
  });
  const r = await upgrade(id, NEW);
  t.deepEqual(r.data, {
    unprocessableEntity: { code: 422, message: `Instance ${id} is not currently available for an action to be performed (instance status was BACKUP).` },
  });
});

test.serial('a replication source is taken with its replicas; a busy replica refuses the whole set', async (t) => {
  const source = await readyInstance('up-src');
  const r1 = await readyInstance('up-r1');
  const r2 = await readyInstance('up-r2');
  await h.tdb.db('instances').whereIn('id', [r1, r2]).update({ slave_of_id: source });
  await h.tdb.db('instances').where({ id: r2 }).update({ task_id: Tasks.RESIZING.code, task_description: Tasks.RESIZING.description });
  const busy = await upgrade(source, NEW);
  t.is(busy.status, 422, JSON.stringify(busy.data));
  t.is((await api().get(`${base}/${source}`)).data.instance.status, 'ACTIVE');
  await makeReady(r2);
  t.is((await upgrade(source, NEW)).status, 202);
  for (const id of [source, r1, r2]) t.is((await api().get(`${base}/${id}`)).data.instance.status, 'UPGRADE', id);
  t.deepEqual(tm.calls.at(-1)![1].instance_id, source);
});

test.serial('a taskmanager that cannot be reached gives the instance back (503)', async (t) => {
  const id = await readyInstance('up-down');
  tm.failNext = true;
  const r = await upgrade(id, NEW);
  t.is(r.status, 503);
  t.regex(r.data.serviceUnavailable.message, /the instance was not upgraded/);
  t.is((await api().get(`${base}/${id}`)).data.instance.status, 'ACTIVE');
});

test.serial(
  'a PostgreSQL major upgrade: 13 -> 15 is newer, 15 -> 13 a downgrade; a replication set is refused (422), replicas cannot cross majors',
  async (t) => {
    asPg = true;
    t.teardown(() => (asPg = false));
    const on13 = { type: 'postgresql', version: '13' };
    const single = await readyInstance('pg-single', on13);
    const ok = await upgrade(single, '15');
    t.is(ok.status, 202, JSON.stringify(ok.data));
    t.is(tm.calls.at(-1)![1].datastore_version_id, PG15);
    const on15 = await readyInstance('pg-on15', { type: 'postgresql', version: '15' });
    const down = await upgrade(on15, '13');
    t.is(down.status, 409, JSON.stringify(down.data));
    t.regex(down.data.conflict.message, /'13' \(13\.23\) is not newer than the instance's '15' \(15\.20\); downgrades are not supported/);

    const source = await readyInstance('pg-src', on13);
    const replica = await readyInstance('pg-r1', on13);
    await h.tdb.db('instances').where({ id: replica }).update({ slave_of_id: source });
    const calls = tm.calls.length;
    const set = await upgrade(source, '15');
    t.is(set.status, 422, JSON.stringify(set.data));
    t.deepEqual(set.data, {
      unprocessableEntity: {
        code: 422,
        message: `Instance ${source} has replicas (${replica}): its replication (PostgresqlReplication, physical streaming) does not cross major versions, so a replication set cannot be upgraded from 13.23 to 15.20. Detach the replicas (openstack database instance detach replica), upgrade the instance, then create the replicas again from it.`,
      },
    });
    const one = await upgrade(replica, '15');
    t.is(one.status, 422, JSON.stringify(one.data));
    t.regex(
      one.data.unprocessableEntity.message,
      new RegExp(
        `^Instance ${replica} is a replica of ${source}: its replication \\(PostgresqlReplication, physical streaming\\) does not cross major versions`,
      ),
    );
    t.is(tm.calls.length, calls, 'nothing cast');
    for (const id of [source, replica]) t.is((await api().get(`${baseOf()}/${id}`)).data.instance.status, 'ACTIVE', id);
  },
);
