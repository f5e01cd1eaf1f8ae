// The scheduler's decisions on a SQLite control database with an injected clock: which schedules
// are due, the run claim two taskmanagers race for, what a run creates, skipped runs, retention.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createThrowawaySqlite, type ThrowawayDb } from '../../test/helpers/throwaway-db.js';
import { createLogger } from '../common/log.js';
import { SecretBox } from '../common/secret-box.js';
import { Tasks } from '../common/instance-tasks.js';
import { ServiceStatuses } from '../common/service-status.js';
import { claimRun, dueSchedules, getSchedule, insertSchedule, retentionVictims } from '../db/backup-schedules.js';
import { nextRun } from '../common/cron-schedule.js';
import type { BackupStorage } from '../rpc/contracts/common.js';
import type { TaskContext } from './context.js';
import { applyRetention, busyReason, runDueSchedules, scheduledBackupName } from './backup-scheduler.js';
import { taskmanagerDefaults } from './config.js';
import { apiDefaults } from '../api/config.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const P = 'proj-s';

interface Fixture {
  tdb: ThrowawayDb;
  ctx: TaskContext;
  begun: Array<{ flow: string; instanceId: string; data: any }>;
  deletedObjects: string[];
  storages: BackupStorage[];
  version: string;
}

async function fixture(t: { teardown(fn: () => Promise<void>): void }): Promise<Fixture> {
  const tdb = await createThrowawaySqlite();
  t.teardown(() => tdb.drop());
  const ds = randomUUID();
  const version = randomUUID();
  await tdb.db('datastores').insert({ id: ds, name: 'mariadb', default_version_id: version });
  await tdb.db('datastore_versions').insert({ id: version, datastore_id: ds, name: '10.11', version: '10.11', manager: 'mariadb', active: true });
  const begun: Fixture['begun'] = [];
  const deletedObjects: string[] = [];
  const storages: BackupStorage[] = [];
  const ctx = {
    db: tdb.db,
    log,
    config: taskmanagerDefaults.parse({ compute_driver: 'local' }),
    secrets: new SecretBox('k'),
    runner: {
      begin: async (flow: string, instanceId: string, data: unknown) => {
        begun.push({ flow, instanceId, data });
        return true;
      },
    },
    objectStore: (s: BackupStorage) => {
      storages.push(s);
      return {
        parseLocation: async (loc: string) => ({ container: 'c', name: loc }),
        deleteObject: async (_c: string, name: string) => void deletedObjects.push(name),
      };
    },
  } as unknown as TaskContext;
  return { tdb, ctx, begun, deletedObjects, storages, version };
}

async function instance(f: Fixture, o: { server?: string; task?: number; service?: number; seen?: Date; flow?: string | null } = {}): Promise<string> {
  const id = randomUUID();
  await f.tdb.db('instances').insert({
    id,
    name: 'db',
    tenant_id: P,
    task_id: o.task ?? Tasks.NONE.code,
    server_status: o.server ?? 'ACTIVE',
    datastore_version_id: f.version,
    deleted: false,
    flow_state: o.flow ?? null,
    created: new Date(),
    updated: new Date(),
  });
  await f.tdb.db('service_statuses').insert({
    id: randomUUID(),
    instance_id: id,
    status_id: o.service ?? ServiceStatuses.HEALTHY.code,
    status_description: 'x',
    updated_at: o.seen ?? new Date(),
  });
  return id;
}

async function schedule(
  f: Fixture,
  instanceId: string,
  o: { cron?: string; retention?: number; next?: Date | null; enabled?: boolean; name?: string } = {},
): Promise<string> {
  const id = randomUUID();
  await insertSchedule(f.tdb.db, {
    id,
    tenant_id: P,
    instance_id: instanceId,
    name: o.name ?? 'nightly',
    cron: o.cron ?? '0 3 * * *',
    retention: o.retention ?? 2,
    enabled: o.enabled ?? true,
    next_run_at: o.next === undefined ? new Date('2026-01-01T03:00:00Z') : o.next,
    storage_driver: 'local',
    user_id: 'u',
    sealed_credential: null,
  });
  return id;
}

test("the scheduler reads the API's quota and container keys with the API's defaults", (t) => {
  const tm = taskmanagerDefaults.parse({});
  const api = apiDefaults.parse({});
  t.is(tm.max_backups_per_tenant, api.max_backups_per_tenant);
  t.is(tm.backup_swift_container, api.backup_swift_container);
  t.is(tm.backup_schedule_interval, 30);
});

test("backup names carry the run's UTC time", (t) => {
  t.is(scheduledBackupName('nightly', new Date('2026-03-04T05:06:07.890Z')), 'nightly-20260304T050607Z');
});

test('retention selection: the oldest COMPLETED beyond the count, FAILED but the newest, DELETE_FAILED; running ones never', (t) => {
  const b = (id: string, state: string) => ({ id, state });
  const list = [
    b('c1', 'COMPLETED'),
    b('f1', 'FAILED'),
    b('c2', 'COMPLETED'),
    b('f2', 'FAILED'),
    b('c3', 'COMPLETED'),
    b('d1', 'DELETE_FAILED'),
    b('n1', 'BUILDING'),
    b('c4', 'COMPLETED'),
  ];
  t.deepEqual(
    retentionVictims(list, 2).map((x) => x.id),
    ['c1', 'c2', 'f1', 'd1'],
  );
  t.deepEqual(
    retentionVictims(list, 4).map((x) => x.id),
    ['f1', 'd1'],
  );
  t.deepEqual(
    retentionVictims(list, 10).map((x) => x.id),
    ['f1', 'd1'],
  );
  t.deepEqual(retentionVictims([b('n', 'NEW'), b('c', 'COMPLETED')], 1), []);
});

test('busy reasons: not ACTIVE, another task or flow, engine down, silent guest, a backup running', (t) => {
  const now = Date.now();
  const ok = {
    server_status: 'ACTIVE',
    task_id: Tasks.NONE.code,
    flow_state: null,
    service_status_id: ServiceStatuses.HEALTHY.code,
    service_status_updated: new Date(now),
  } as any;
  t.is(busyReason(ok, false, 90, now), undefined);
  t.is(busyReason({ ...ok, task_id: Tasks.RESTART_REQUIRED.code }, false, 90, now), undefined);
  t.regex(busyReason({ ...ok, server_status: 'SHUTOFF' }, false, 90, now)!, /SHUTOFF/);
  t.regex(busyReason({ ...ok, task_id: Tasks.BUILDING.code }, false, 90, now)!, /busy \(task BUILDING\)/);
  t.regex(busyReason({ ...ok, flow_state: '{}' }, false, 90, now)!, /busy/);
  t.regex(busyReason({ ...ok, service_status_id: ServiceStatuses.SHUTDOWN.code }, false, 90, now)!, /not running/);
  t.regex(busyReason({ ...ok, service_status_updated: new Date(now - 91_000) }, false, 90, now)!, /not reported/);
  t.regex(busyReason(ok, true, 90, now)!, /already running/);
});

test('due computation: only enabled schedules whose next run has come; the claim moves it forward once', async (t) => {
  const f = await fixture(t);
  const inst = await instance(f);
  const due = await schedule(f, inst, { next: new Date('2026-01-01T03:00:00Z') });
  await schedule(f, inst, { next: new Date('2026-01-01T03:01:00Z') });
  await schedule(f, inst, { next: new Date('2026-01-01T02:00:00Z'), enabled: false });
  await schedule(f, inst, { next: null });
  const now = new Date('2026-01-01T03:00:20Z');
  const found = await dueSchedules(f.tdb.db, now);
  t.deepEqual(
    found.map((s) => s.id),
    [due],
  );
  const s = found[0]!;
  const next = nextRun(s.cron, now);
  t.is(next.toISOString(), '2026-01-02T03:00:00.000Z');
  // two taskmanagers read the same row and race: one claim wins
  const claims = await Promise.all([claimRun(f.tdb.db, s.id, s.next_run_at!, next, now), claimRun(f.tdb.db, s.id, s.next_run_at!, next, now)]);
  t.deepEqual(claims.sort(), [false, true]);
  t.deepEqual(await dueSchedules(f.tdb.db, now), []);
  t.is((await getSchedule(f.tdb.db, s.id))!.next_run_at!.toISOString(), '2026-01-02T03:00:00.000Z');
});

test('a due run: quota taken, NEW backup named after the schedule and marked with it, the BACKUP flow begun', async (t) => {
  const f = await fixture(t);
  const inst = await instance(f);
  const id = await schedule(f, inst, { name: 'hourly', cron: '0 * * * *' });
  const now = new Date('2026-01-01T03:00:05Z');
  const started = await runDueSchedules(f.ctx, now);
  t.is(started.length, 1);
  const b = await f.tdb.db('backups').where({ id: started[0] }).first();
  t.like(b, { name: 'hourly-20260101T030005Z', schedule_id: id, state: 'NEW', tenant_id: P, instance_id: inst, backup_type: 'full', storage_driver: 'local' });
  t.is((await f.tdb.db('quota_usages').where({ tenant_id: P, resource: 'backups' }).first()).in_use, 1);
  t.is(f.begun.length, 1);
  t.is(f.begun[0]!.flow, 'backup');
  t.is(f.begun[0]!.data.backupInfo.swift_container, 'database_backups');
  t.is(f.begun[0]!.data.backupInfo.id, b.id);
  t.deepEqual(JSON.parse(f.ctx.secrets.open(f.begun[0]!.data.sealedStorage)), { driver: 'local' });
  const s = (await getSchedule(f.tdb.db, id))!;
  t.like(s, { last_backup_id: b.id, last_error: null });
  t.is(s.next_run_at!.toISOString(), '2026-01-01T04:00:00.000Z');
  t.is(s.last_run_at!.toISOString(), now.toISOString());
  t.deepEqual(await runDueSchedules(f.ctx, new Date('2026-01-01T03:30:00Z')), [], 'not due again before 04:00');
});

test('a busy instance or a full quota: no backup, last_error says why, the next run still advances', async (t) => {
  const f = await fixture(t);
  const busy = await instance(f, { flow: '{"flow":"restart"}' });
  const s1 = await schedule(f, busy);
  await f.tdb.db('quotas').insert({ id: randomUUID(), tenant_id: P, resource: 'backups', hard_limit: 0, created: new Date(), updated: new Date() });
  const full = await instance(f);
  const s2 = await schedule(f, full);
  t.deepEqual(await runDueSchedules(f.ctx, new Date('2026-01-01T03:00:05Z')), []);
  t.is(f.begun.length, 0);
  t.regex((await getSchedule(f.tdb.db, s1))!.last_error!, /skipped: the instance is busy/);
  t.regex((await getSchedule(f.tdb.db, s2))!.last_error!, /Quota exceeded for resources: \['backups'\]/);
  t.is((await getSchedule(f.tdb.db, s2))!.next_run_at!.toISOString(), '2026-01-02T03:00:00.000Z');
  t.is((await f.tdb.db('backups').count({ n: '*' }).first())!.n, 0);
});

test('a schedule whose instance is deleted is retired at its next run', async (t) => {
  const f = await fixture(t);
  const inst = await instance(f);
  const id = await schedule(f, inst);
  await f.tdb.db('instances').where({ id: inst }).update({ deleted: true, deleted_at: new Date() });
  t.deepEqual(await runDueSchedules(f.ctx, new Date('2026-01-01T03:00:05Z')), []);
  t.is(await getSchedule(f.tdb.db, id), undefined);
});

test("retention deletes the schedule's oldest COMPLETED backups through deleteBackup, never manual ones", async (t) => {
  const f = await fixture(t);
  const inst = await instance(f);
  const id = await schedule(f, inst, { retention: 2 });
  const other = await schedule(f, inst, { retention: 5 });
  const add = async (name: string, state: string, scheduleId: string | null, minute: number) => {
    const bid = randomUUID();
    const at = new Date(Date.UTC(2026, 0, 1, 3, minute));
    await f.tdb.db('backups').insert({
      id: bid,
      name,
      state,
      tenant_id: P,
      instance_id: inst,
      schedule_id: scheduleId,
      location: `loc-${name}`,
      created: at,
      updated: at,
      deleted: false,
    });
    return bid;
  };
  const manual = await add('manual-old', 'COMPLETED', null, 0);
  const b1 = await add('n-1', 'COMPLETED', id, 1);
  const b2 = await add('n-2', 'COMPLETED', id, 2);
  await add('n-3', 'COMPLETED', id, 3);
  await add('n-4', 'COMPLETED', id, 4);
  await add('n-5', 'BUILDING', id, 5);
  await add('o-1', 'COMPLETED', other, 1);
  await f.tdb
    .db('quota_usages')
    .insert({ id: randomUUID(), tenant_id: P, resource: 'backups', in_use: 7, reserved: 0, created: new Date(), updated: new Date() });
  const deleted = await applyRetention(f.ctx);
  t.deepEqual(deleted, [b1, b2]);
  t.deepEqual(f.deletedObjects, ['loc-n-1', 'loc-n-2']);
  t.deepEqual(f.storages, [{ driver: 'local' }, { driver: 'local' }]);
  const left = await f.tdb.db('backups').where({ deleted: false }).orderBy('name').pluck('name');
  t.deepEqual(left, ['manual-old', 'n-3', 'n-4', 'n-5', 'o-1']);
  t.truthy(await f.tdb.db('backups').where({ id: manual, deleted: false }).first());
  t.is((await f.tdb.db('quota_usages').where({ tenant_id: P, resource: 'backups' }).first()).in_use, 5);
  t.deepEqual(await applyRetention(f.ctx), [], 'nothing more to delete');
  t.is((await f.tdb.db('backup_schedules').where({ id }).first()).retention_lease_until, null, 'lease released');
});

test('Swift: a run uses a trust-scoped token and the Swift URL of its catalog; a retired schedule deletes its trust', async (t) => {
  const f = await fixture(t);
  const calls: string[] = [];
  f.ctx.scheduleTrusts = {
    delegation: {
      createTrust: async () => 'never',
      trustToken: async (trustId: string) => {
        calls.push(`token ${trustId}`);
        return {
          token: `scoped-${trustId}`,
          info: { userId: 'u', userName: 'u', projectId: P, projectName: P, roles: ['member'], expiresAt: new Date(), catalog: [] },
        };
      },
      deleteTrust: async (token: string, trustId: string) => void calls.push(`delete ${trustId} with ${token}`),
    },
    swiftUrl: async (info) => `http://swift.test/v1/AUTH_${info.projectId}`,
  };
  const inst = await instance(f);
  const id = await schedule(f, inst);
  await f.tdb
    .db('backup_schedules')
    .where({ id })
    .update({ storage_driver: 'swift', sealed_credential: f.ctx.secrets.seal(JSON.stringify({ trust_id: 'tr-1' })) });
  const [backupId] = await runDueSchedules(f.ctx, new Date('2026-01-01T03:00:05Z'));
  t.truthy(backupId);
  t.deepEqual(JSON.parse(f.ctx.secrets.open(f.begun[0]!.data.sealedStorage)), {
    driver: 'swift',
    url: `http://swift.test/v1/AUTH_${P}`,
    auth_token: 'scoped-tr-1',
  });
  t.is((await f.tdb.db('backups').where({ id: backupId }).first()).storage_driver, 'swift');

  await f.tdb.db('instances').where({ id: inst }).update({ deleted: true });
  await runDueSchedules(f.ctx, new Date('2026-01-02T03:00:05Z'));
  t.deepEqual(calls, ['token tr-1', 'token tr-1', 'delete tr-1 with scoped-tr-1']);
  t.is(await getSchedule(f.tdb.db, id), undefined);

  // without Keystone the run is skipped with the reason
  const inst2 = await instance(f);
  const id2 = await schedule(f, inst2);
  await f.tdb
    .db('backup_schedules')
    .where({ id: id2 })
    .update({ storage_driver: 'swift', sealed_credential: f.ctx.secrets.seal(JSON.stringify({ trust_id: 'tr-2' })) });
  f.ctx.scheduleTrusts = undefined;
  await runDueSchedules(f.ctx, new Date('2026-01-03T03:00:05Z'));
  t.regex((await getSchedule(f.tdb.db, id2))!.last_error!, /no Keystone/);
});
