// The control plane on SQLite (the all-in-one control database): the same migrations, the API's
// instance create/list/delete rules with quotas, heartbeats and resumable flows.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createThrowawaySqlite } from '../helpers/throwaway-db.js';
import { startApi, RecordingTaskManager } from '../helpers/api-harness.js';
import { pendingMigrations, syncSchema } from '../../src/db/migrate.js';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../helpers/run-bin.js';
import { listTables } from '../../src/db/dialect.js';
import { applyHeartbeat, heartbeatWriter } from '../../src/conductor/heartbeat.js';
import { createLogger } from '../../src/common/log.js';
import { ServiceStatuses } from '../../src/common/service-status.js';
import { FlowRunner } from '../../src/taskmanager/flow.js';
import { ComputeNotFoundError, type Compute } from '../../src/clients/compute.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });

test('the migrations run on SQLite and a second sync is a no-op', async (t) => {
  const tdb = await createThrowawaySqlite({ migrate: false });
  t.teardown(() => tdb.drop());
  t.true((await syncSchema(tdb.db)).applied.length >= 3);
  t.deepEqual((await syncSchema(tdb.db)).applied, []);
  const tables = await listTables(tdb.db);
  for (const name of ['instances', 'service_statuses', 'datastores', 'quota_usages', 'conductor_lastseen', 'backups']) t.true(tables.includes(name), name);
});

test("the compiled migrations (dist/migrations/*.js) are the sources' by name: a database migrated by either is up to date for the other", async (t) => {
  const compiled = path.join(REPO, 'dist/migrations');
  const sources = await createThrowawaySqlite({ migrate: false });
  const built = await createThrowawaySqlite({ migrate: false });
  t.teardown(async () => {
    await sources.drop();
    await built.drop();
  });
  const fromSources = (await syncSchema(sources.db)).applied;
  t.true(fromSources.length >= 6);
  t.deepEqual(
    readdirSync(compiled)
      .filter((f) => f.endsWith('.js'))
      .map((f) => f.replace(/\.js$/, '.ts')),
    fromSources,
    'dist/ holds each migration compiled',
  );
  t.deepEqual((await syncSchema(sources.db, compiled)).applied, []);
  t.deepEqual(await pendingMigrations(sources.db, compiled), []);
  // a first start of the compiled services records the same names (.ts), so the sources see nothing to do
  t.deepEqual((await syncSchema(built.db, compiled)).applied, fromSources);
  t.deepEqual((await syncSchema(built.db)).applied, []);
  t.deepEqual(await listTables(built.db), await listTables(sources.db));
});

test('API on SQLite: create with quota, list, actions and delete rules', async (t) => {
  const compute: Compute = {
    listFlavors: async () => [{ id: '1', name: 'small', ram: 512, vcpus: 1, disk: 1, ephemeral: 0 }],
    getFlavor: async (id) => {
      if (id !== '1') throw new ComputeNotFoundError('flavor', id);
      return { id: '1', name: 'small', ram: 512, vcpus: 1, disk: 1, ephemeral: 0 };
    },
  };
  const tm = new RecordingTaskManager();
  const h = await startApi({
    sqlite: true,
    users: [{ token: 'tok', projectId: 'p', roles: ['admin'] }],
    taskmanager: tm,
    userClients: () => ({ compute, blockStorage: { listVolumeTypes: async () => [] } }),
  });
  t.teardown(() => h.close());
  const ds = randomUUID();
  const v = randomUUID();
  await h.tdb.db('datastores').insert({ id: ds, name: 'mariadb', default_version_id: v });
  await h.tdb.db('datastore_versions').insert({ id: v, datastore_id: ds, name: '10.11', version: '10.11', manager: 'mariadb', active: true });
  await h.as('tok').put('/v1.0/p/mgmt/quotas/p', { quotas: { instances: 2 } });
  const ids: string[] = [];
  for (const name of ['a', 'b']) {
    const r = await h.as('tok').post('/v1.0/p/instances', { instance: { name, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb' } } });
    t.is(r.status, 200, JSON.stringify(r.data));
    t.is(r.data.instance.status, 'BUILD');
    t.regex(r.data.instance.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    ids.push(r.data.instance.id);
  }
  const third = await h.as('tok').post('/v1.0/p/instances', { instance: { name: 'c', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb' } } });
  t.is(third.status, 413);
  const list = await h.as('tok').get('/v1.0/p/instances?limit=1');
  t.is(list.data.instances.length, 1);
  t.truthy(list.data.links);
  t.is((await h.as('tok').delete(`/v1.0/p/instances/${ids[0]}`)).status, 422, 'still building');
  const q = await h.as('tok').get('/v1.0/p/mgmt/quotas/p');
  t.is(q.data.quotas.find((x: { resource: string }) => x.resource === 'ram').in_use, 1024);
});

test('heartbeats and flows on SQLite', async (t) => {
  const tdb = await createThrowawaySqlite();
  t.teardown(() => tdb.drop());
  const id = randomUUID();
  await tdb.db('instances').insert({ id, name: 'f', tenant_id: 'p', deleted: false, task_id: 5, created: new Date(), updated: new Date() });
  await tdb
    .db('service_statuses')
    .insert({ id: randomUUID(), instance_id: id, status_id: ServiceStatuses.NEW.code, status_description: 'new', updated_at: new Date(0) });
  t.is(await applyHeartbeat(tdb.db, log, { instance_id: id, payload: { service_status: 'healthy' }, sent: 10 }), 'applied');
  t.is(await applyHeartbeat(tdb.db, log, { instance_id: id, payload: { service_status: 'shutdown' }, sent: 9 }), 'stale');
  t.is((await tdb.db('service_statuses').where({ instance_id: id }).first()).status_id, ServiceStatuses.HEALTHY.code);
  // the conductor's groups: several guests' heartbeats in one transaction
  const others = [randomUUID(), randomUUID()];
  for (const other of others)
    await tdb
      .db('service_statuses')
      .insert({ id: randomUUID(), instance_id: other, status_id: ServiceStatuses.NEW.code, status_description: 'new', updated_at: new Date(0) });
  const write = heartbeatWriter(tdb.db, log);
  const outcomes = await Promise.all(
    [id, ...others].flatMap((i) => [
      write({ instance_id: i, payload: { service_status: 'running' }, sent: 20 }),
      write({ instance_id: i, payload: { service_status: 'blocked' }, sent: 21 }),
    ]),
  );
  t.true(outcomes.every((o) => o === 'applied' || o === 'stale'));
  const statuses = await tdb
    .db('service_statuses')
    .whereIn('instance_id', [id, ...others])
    .select('status_description');
  t.deepEqual([...new Set(statuses.map((r) => r.status_description))], ['blocked']);
  const seen = await tdb
    .db('conductor_lastseen')
    .whereIn('instance_id', [id, ...others])
    .where({ method_name: 'heartbeat' })
    .select('sent');
  t.deepEqual([...new Set(seen.map((r) => Number(r.sent)))], [21]);
  const ran: string[] = [];
  const runner = new FlowRunner({ db: tdb.db, log, owner: 'tm' });
  runner.register({
    name: 'demo',
    steps: [
      { name: 'a', run: async () => void ran.push('a') },
      { name: 'b', run: async () => void ran.push('b') },
    ],
    fail: async () => undefined,
  });
  await runner.start('demo', id, {}, 60);
  t.deepEqual(ran, ['a', 'b']);
  t.is((await tdb.db('instances').where({ id }).first()).flow_state, null);
});
