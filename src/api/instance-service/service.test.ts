// The instance service on a real control database (MariaDB and SQLite): each step that can fail
// gives back what the steps before it took — the task (as it was, a pending restart kept) and the
// columns written with it, the quota, every member of a replica set, a create's instances.
import test, { type ExecutionContext } from 'ava';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createThrowawayDb, createThrowawaySqlite, type ThrowawayDb } from '../../../test/helpers/throwaway-db.js';
import { QuotaExceededError, ServiceUnavailableError, UnprocessableEntityError } from '../../common/errors.js';
import { Tasks, type InstanceTask } from '../../common/instance-tasks.js';
import { createLogger } from '../../common/log.js';
import { ServiceStatuses } from '../../common/service-status.js';
import { getInstance, insertInstance, type NewInstance } from '../../db/instances.js';
import { UNLIMITED, type QuotaLimits } from '../../db/quotas.js';
import { DELETABLE } from '../resources/instances/availability.js';
import { instanceService, type InstanceService, type NewMember } from './service.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });

interface Fixture {
  tdb: ThrowawayDb;
  service: InstanceService;
  version: string;
}

const backends = { MariaDB: createThrowawayDb, SQLite: createThrowawaySqlite };
const fixtures = new Map<string, Promise<Fixture>>();

async function fixture(backend: keyof typeof backends): Promise<Fixture> {
  if (!fixtures.has(backend)) {
    fixtures.set(
      backend,
      (async () => {
        const tdb = await backends[backend]();
        const ds = randomUUID();
        const version = randomUUID();
        await tdb.db('datastores').insert({ id: ds, name: 'mariadb', default_version_id: version });
        await tdb.db('datastore_versions').insert({ id: version, datastore_id: ds, name: '10.11', version: '10.11', manager: 'mariadb', active: true });
        return { tdb, version, service: instanceService({ db: tdb.db, log, quotaDefaults: UNLIMITED }) };
      })(),
    );
  }
  return fixtures.get(backend)!;
}
test.after.always(async () => {
  for (const f of fixtures.values()) await (await f).tdb.drop();
});

function newInstance(f: Fixture, project: string, access = { is_public: false, allowed_cidrs: [] as string[] }): NewInstance {
  return {
    id: randomUUID(),
    name: 'i',
    flavor_id: 'small',
    volume_size: 2,
    volume_type: null,
    tenant_id: project,
    datastore_version_id: f.version,
    configuration_id: null,
    slave_of_id: null,
    region_id: 'r',
    encrypted_key: null,
    availability_zone: null,
    locality: null,
    access,
  };
}

/** A ready instance (server ACTIVE, guest HEALTHY) in `task`. */
async function instance(f: Fixture, project: string, task: InstanceTask = Tasks.NONE, access?: NewInstance['access']): Promise<string> {
  const n = newInstance(f, project, access);
  await f.tdb.db.transaction((trx) => insertInstance(trx, n));
  await f.tdb.db('instances').where({ id: n.id }).update({ task_id: task.code, task_description: task.description, server_status: 'ACTIVE' });
  await f.tdb.db('service_statuses').where({ instance_id: n.id }).update({ status_id: ServiceStatuses.HEALTHY.code, updated_at: new Date() });
  return n.id;
}

const tasksOf = async (f: Fixture, ids: string[]) =>
  Promise.all(ids.map(async (id) => ((await f.tdb.db('instances').where({ id }).first('task_id')) as { task_id: number }).task_id));

async function usage(f: Fixture, project: string): Promise<Record<string, number>> {
  const rows = (await f.tdb.db('quota_usages').where({ tenant_id: project }).select('resource', 'in_use')) as Array<{ resource: string; in_use: number }>;
  return Object.fromEntries(rows.filter((r) => r.in_use !== 0).map((r) => [r.resource, r.in_use]));
}

async function limit(f: Fixture, project: string, resource: string, hard_limit: number) {
  await f.tdb.db('quotas').insert({ id: randomUUID(), tenant_id: project, resource, hard_limit, created: new Date(), updated: new Date() });
}

/** A taskmanager that records the casts and refuses the ones named in `fail` (the bus down). */
function taskmanager(fail: string[] = []) {
  const sent: string[] = [];
  return {
    sent,
    send: (id: string) => async () => {
      if (fail.includes(id)) throw new Error('bus down');
      sent.push(id);
    },
  };
}

for (const backend of Object.keys(backends) as Array<keyof typeof backends>) {
  const it = (title: string, fn: (t: ExecutionContext, f: Fixture, project: string) => Promise<void>) =>
    test(`${backend}: ${title}`, async (t) => fn(t, await fixture(backend), `p-${randomUUID().slice(0, 8)}`));

  it('the task taken, then the quota refused: 413, the task back as it was (a pending restart kept), nothing cast', async (t, f, p) => {
    const id = await instance(f, p, Tasks.RESTART_REQUIRED);
    await limit(f, p, 'ram', 100);
    const tm = taskmanager();
    const err = await t.throwsAsync(
      f.service.act({ what: 'resize_flavor', projectId: p, members: [{ id, usage: { ram: 1024 } }], task: Tasks.RESIZING, casts: [{ send: tm.send(id) }] }),
      { instanceOf: QuotaExceededError },
    );
    t.regex(err!.message, /'ram'/);
    t.deepEqual(await tasksOf(f, [id]), [Tasks.RESTART_REQUIRED.code]);
    t.deepEqual(await usage(f, p), {});
    t.deepEqual(tm.sent, []);
  });

  it('the task taken, then the quota cannot be read: its error raised and the task back', async (t, f, p) => {
    const id = await instance(f, p, Tasks.RESTART_REQUIRED);
    const unreadable = {
      get ram(): number {
        throw new Error('the quotas cannot be read');
      },
    } as unknown as QuotaLimits;
    const service = instanceService({ db: f.tdb.db, log, quotaDefaults: unreadable });
    await t.throwsAsync(service.act({ what: 'resize_flavor', projectId: p, members: [{ id, usage: { ram: 1024 } }], task: Tasks.RESIZING, casts: [] }), {
      message: 'the quotas cannot be read',
    });
    t.deepEqual(await tasksOf(f, [id]), [Tasks.RESTART_REQUIRED.code]);
  });

  it('the quota taken, then the cast fails: 503, the quota and the task back, the columns written with it as they were', async (t, f, p) => {
    const before = { is_public: false, allowed_cidrs: ['10.0.0.0/8'] };
    const id = await instance(f, p, Tasks.NONE, before);
    const act = (tm: ReturnType<typeof taskmanager>) =>
      f.service.act({
        what: 'update_access',
        projectId: p,
        members: [{ id, usage: { volumes: 3 } }],
        task: Tasks.UPDATING,
        set: { access: JSON.stringify({ is_public: true, allowed_cidrs: [] }) },
        casts: [{ send: tm.send(id) }],
      });
    const err = await t.throwsAsync(act(taskmanager([id])), { instanceOf: ServiceUnavailableError });
    t.is(err!.message, 'The taskmanager could not be reached; nothing was changed (update_access).');
    const row = (await getInstance(f.tdb.db, id))!;
    t.is(row.task_id, Tasks.NONE.code);
    t.deepEqual(JSON.parse(row.access!), before);
    t.deepEqual(await usage(f, p), {});
    // told: everything stays taken (what the undo above gave back)
    await act(taskmanager());
    const now = (await getInstance(f.tdb.db, id))!;
    t.is(now.task_id, Tasks.UPDATING.code);
    t.true(JSON.parse(now.access!).is_public);
    t.deepEqual(await usage(f, p), { volumes: 3 });
  });

  it('a replica set with a busy member: 422 naming it in its state, no member taken, nothing cast', async (t, f, p) => {
    const ids = [await instance(f, p), await instance(f, p, Tasks.RESTART_REQUIRED), await instance(f, p, Tasks.REBOOTING)];
    const tm = taskmanager();
    const err = await t.throwsAsync(
      f.service.act({
        what: 'promote_to_replica_source',
        projectId: p,
        members: ids.map((id) => ({ id })),
        task: Tasks.PROMOTING,
        casts: [{ send: tm.send(ids[0]!) }],
      }),
      { instanceOf: UnprocessableEntityError },
    );
    t.is(err!.message, `Instance ${ids[2]} is not currently available for an action to be performed (task status was REBOOTING).`);
    t.deepEqual(await tasksOf(f, ids), [Tasks.NONE.code, Tasks.RESTART_REQUIRED.code, Tasks.REBOOTING.code]);
    t.deepEqual(tm.sent, []);
  });

  it("a replica set's one cast fails: 503 and every member back to the task it had", async (t, f, p) => {
    const ids = [await instance(f, p), await instance(f, p, Tasks.RESTART_REQUIRED), await instance(f, p)];
    await t.throwsAsync(
      f.service.act({
        what: 'eject_replica_source',
        projectId: p,
        members: ids.map((id) => ({ id })),
        task: Tasks.EJECTING,
        casts: [{ send: taskmanager([ids[0]!]).send(ids[0]!) }],
      }),
      { instanceOf: ServiceUnavailableError },
    );
    t.deepEqual(await tasksOf(f, ids), [Tasks.NONE.code, Tasks.RESTART_REQUIRED.code, Tasks.NONE.code]);
  });

  it('one cast per member, the second fails: the member told keeps its task and quota, the others give theirs back', async (t, f, p) => {
    const ids = [await instance(f, p), await instance(f, p), await instance(f, p, Tasks.RESTART_REQUIRED)];
    const tm = taskmanager([ids[1]!]);
    const err = await t.throwsAsync(
      f.service.act({
        what: 'resize_volume',
        projectId: p,
        members: ids.map((id) => ({ id, usage: { volumes: 2 } })),
        task: Tasks.RESIZING,
        casts: ids.map((id) => ({ ids: [id], send: tm.send(id) })),
        unreachable: (untold) => `not started: ${untold.join(', ')}`,
      }),
      { instanceOf: ServiceUnavailableError },
    );
    t.is(err!.message, `not started: ${ids[1]}, ${ids[2]}`);
    t.deepEqual(tm.sent, [ids[0]]);
    t.deepEqual(await tasksOf(f, ids), [Tasks.RESIZING.code, Tasks.NONE.code, Tasks.RESTART_REQUIRED.code]);
    t.deepEqual(await usage(f, p), { volumes: 2 });
  });

  it('a step before the casts fails: everything given back, and its own error raised (not a 503)', async (t, f, p) => {
    const id = await instance(f, p);
    const tm = taskmanager();
    await t.throwsAsync(
      f.service.act({
        what: 'restart',
        projectId: p,
        members: [{ id, usage: { ram: 512 } }],
        task: Tasks.REBOOTING,
        prepare: async () => {
          throw new Error('the store is down');
        },
        casts: [{ send: tm.send(id) }],
      }),
      { message: 'the store is down' },
    );
    t.deepEqual(await tasksOf(f, [id]), [Tasks.NONE.code]);
    t.deepEqual(await usage(f, p), {});
    t.deepEqual(tm.sent, []);
  });

  it("a delete of a busy instance: Trove's 422 with the status its task shows", async (t, f, p) => {
    const id = await instance(f, p, Tasks.RESIZING);
    await t.throwsAsync(
      f.service.act({ what: 'delete_instance', projectId: p, members: [{ id }], task: Tasks.DELETING, from: DELETABLE, refusal: 'delete', casts: [] }),
      { instanceOf: UnprocessableEntityError, message: `Instance ${id} is not ready. (Status is RESIZE).` },
    );
    t.deepEqual(await tasksOf(f, [id]), [Tasks.RESIZING.code]);
  });

  const creation = (f: Fixture, p: string, n: number): NewMember[] =>
    Array.from({ length: n }, () => ({ ...newInstance(f, p), usage: { instances: 1, ram: 1024, volumes: 2 } }));
  const faultOf = async (f: Fixture, id: string) => (await getInstance(f.tdb.db, id))!.fault_message;

  it('create over quota: 413 and nothing stored', async (t, f, p) => {
    await limit(f, p, 'instances', 1);
    const instances = creation(f, p, 2);
    await t.throwsAsync(f.service.create({ what: 'create_instance', projectId: p, instances, casts: [] }), { instanceOf: QuotaExceededError });
    t.is(
      (
        await f.tdb
          .db('instances')
          .whereIn(
            'id',
            instances.map((i) => i.id),
          )
          .select('id')
      ).length,
      0,
    );
    t.deepEqual(await usage(f, p), {});
  });

  it('create, the second cast fails: the first builds, the second shows ERROR with a fault, its quota given back', async (t, f, p) => {
    const instances = creation(f, p, 2);
    const [a, b] = instances.map((i) => i.id) as [string, string];
    const tm = taskmanager([b]);
    await t.throwsAsync(
      f.service.create({ what: 'create_instance', projectId: p, instances, casts: instances.map((i) => ({ ids: [i.id], send: tm.send(i.id) })) }),
      { instanceOf: ServiceUnavailableError },
    );
    t.deepEqual(await tasksOf(f, [a, b]), [Tasks.BUILDING.code, Tasks.BUILDING_ERROR_SERVER.code]);
    t.is(await faultOf(f, a), null);
    t.is(await faultOf(f, b), 'The taskmanager could not be reached to build the instance.');
    t.deepEqual(await usage(f, p), { instances: 1, ram: 1024, volumes: 2 });
  });

  it('create, the step before the casts fails: every instance ERROR with a fault, all the quota given back, its error raised', async (t, f, p) => {
    const instances = creation(f, p, 2);
    const tm = taskmanager();
    await t.throwsAsync(
      f.service.create({
        what: 'create_instance',
        projectId: p,
        instances,
        prepare: async () => {
          throw new Error('no backup store');
        },
        casts: () => instances.map((i) => ({ ids: [i.id], send: tm.send(i.id) })),
      }),
      { message: 'no backup store' },
    );
    const ids = instances.map((i) => i.id);
    t.deepEqual(await tasksOf(f, ids), [Tasks.BUILDING_ERROR_SERVER.code, Tasks.BUILDING_ERROR_SERVER.code]);
    for (const id of ids) t.regex((await faultOf(f, id)) ?? '', /not built/);
    t.deepEqual(await usage(f, p), {});
    t.deepEqual(tm.sent, []);
  });
}
