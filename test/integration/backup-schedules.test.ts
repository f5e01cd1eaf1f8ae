// Scheduled backups for real: the control plane (MariaDB control DB, RabbitMQ, local compute with a
// real mariadbd guest), a schedule made through the API, backups started by the taskmanager's
// scheduler and done by the guest into the local object store, retention deleting the oldest.
// The scheduler's clock runs 60 times faster than the wall clock (a cron minute is a second), so
// the test does not wait for minute boundaries; the cron stays five fields, as users write it.
import test from 'ava';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { startControlPlane, waitForInstance, ADMIN_TOKEN, type ControlPlane } from '../helpers/control-plane.js';
import { startTaskmanager, type Taskmanager } from '../../src/taskmanager/service.js';
import { createLogger } from '../../src/common/log.js';
import { cloudDrivers } from '../../src/clients/factory.js';
import { Tasks } from '../../src/common/instance-tasks.js';
import { registerDatastore } from '../helpers/datastores.js';

let cp: ControlPlane;
let tm: Taskmanager;
let inst: string;
const SPEED = 60;

test.before(async () => {
  cp = await startControlPlane({ inProcessTaskmanager: false, config: { DEFAULT: { backup_schedule_interval: '1' } } });
  const start = Date.now();
  const log = createLogger('tm', { destination: new Writable({ write: (c, _e, cb) => (cp.logs.push(String(c)), cb()) }), level: 'debug' });
  tm = await startTaskmanager(cp.raw, log, cloudDrivers(cp.raw, log).flows(), { scheduleClock: () => new Date(start + (Date.now() - start) * SPEED) });
  await registerDatastore(cp.tdb.db);
  const r = await cp.http.post('/instances', {
    instance: { name: 'sched', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb' }, databases: [{ name: 'shop' }] },
  });
  inst = r.data.instance.id;
  await waitForInstance(cp.http, inst, (i) => i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY');
});
test.after.always(async () => {
  await tm?.stop();
  await cp?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const schedules = () => `/ts/instances/${inst}/backup_schedules`;

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 150_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

test.serial('a schedule makes backups on its cron with its name; retention deletes the oldest COMPLETED, never a manual one', async (t) => {
  // a manual backup first: retention must leave it alone
  const manual = (await cp.http.post('/backups', { backup: { name: 'manual', instance: inst } })).data.backup;
  const manualDone = await until('the manual backup', async () => {
    const b = (await cp.http.get(`/backups/${manual.id}`)).data.backup;
    return b.status === 'COMPLETED' || b.status === 'FAILED' ? b : undefined;
  });
  t.is(manualDone.status, 'COMPLETED', JSON.stringify(manualDone));

  const created = await cp.http.post(schedules(), { backup_schedule: { name: 'auto', cron: '*/5 * * * *', retention: 2 } });
  t.is(created.status, 202, JSON.stringify(created.data));
  const s = created.data.backup_schedule;
  t.like(s, { name: 'auto', cron: '*/5 * * * *', retention: 2, enabled: true, storage_driver: 'local' });
  t.truthy(s.next_run_at);

  // wait until retention has had something to delete: at least one scheduled backup completed and then deleted
  const rows = () =>
    cp.tdb.db('backups').where({ schedule_id: s.id }).orderBy('created', 'asc').select('id', 'name', 'state', 'deleted', 'location', 'created');
  await until('retention to delete a scheduled backup', async () => {
    const all = await rows();
    const deleted = all.filter((b) => b.deleted);
    const kept = all.filter((b) => !b.deleted && b.state === 'COMPLETED');
    return deleted.length >= 1 && kept.length === 2 ? true : undefined;
  });
  // stop new runs, let a running one finish, and let retention settle
  t.is((await cp.http.patch(`${schedules()}/${s.id}`, { backup_schedule: { enabled: false } })).status, 200);
  await until('no scheduled backup running', async () =>
    (await rows()).some((b) => !b.deleted && ['NEW', 'BUILDING', 'SAVING'].includes(b.state)) ? undefined : true,
  );
  await sleep(2500);

  const all = await rows();
  const completed = all.filter((b) => b.state === 'COMPLETED' || b.deleted);
  t.true(completed.length >= 3, `scheduled backups: ${JSON.stringify(all.map((b) => [b.name, b.state, b.deleted]))}`);
  for (const b of all) t.regex(b.name, /^auto-\d{8}T\d{6}Z$/);
  const kept = all.filter((b) => !b.deleted && b.state === 'COMPLETED');
  t.is(kept.length, 2, 'retention keeps two');
  const deleted = all.filter((b) => b.deleted);
  const newestDeleted = Math.max(...deleted.map((b) => new Date(b.created).getTime()));
  t.true(
    kept.every((b) => new Date(b.created).getTime() >= newestDeleted),
    'the oldest went',
  );
  t.true(
    kept.every(
      (b) =>
        b.name >
        deleted
          .map((d) => d.name)
          .sort()
          .at(-1)!,
    ),
    'by the run times in the names too',
  );
  // the deleted ones' objects are gone from the store, the kept ones' are there
  for (const b of deleted.filter((x) => x.location)) t.false(existsSync(fileURLToPath(b.location)), `object of ${b.name} deleted`);
  for (const b of kept) t.true(existsSync(fileURLToPath(b.location)), `object of ${b.name} kept`);

  // the API shows them as backups of the instance, with the schedule's names; the manual one is still there
  const listed = (await cp.http.get(`/instances/${inst}/backups`)).data.backups as Array<{ id: string; name: string; status: string }>;
  t.deepEqual(
    listed
      .filter((b) => b.name.startsWith('auto-'))
      .map((b) => b.id)
      .sort(),
    kept.map((b) => b.id).sort(),
  );
  t.truthy(
    listed.find((b) => b.id === manual.id && b.status === 'COMPLETED'),
    'the manual backup is kept',
  );
  const usage = await cp.tdb.db('quota_usages').where({ tenant_id: 'p-local', resource: 'backups' }).first();
  t.is(usage.in_use, 1 + kept.length, 'deleted backups gave their quota back');

  const shown = (await cp.http.get(`${schedules()}/${s.id}`)).data.backup_schedule;
  t.truthy(all.find((b) => b.id === shown.last_backup_id));
  t.truthy(shown.last_run_at);
  t.is(shown.next_run_at, null, 'disabled');

  // disabled: no new runs
  const before = (await rows()).length;
  await sleep(4000);
  t.is((await rows()).length, before);

  t.is((await cp.http.delete(`${schedules()}/${s.id}`)).status, 202);
  t.deepEqual((await cp.http.get(schedules())).data.backup_schedules, []);
  t.false(cp.logs.join('').includes(ADMIN_TOKEN), 'no token in the logs');
});

test.serial('a run while the instance is busy is skipped with last_error, and the schedule keeps going', async (t) => {
  const s = (await cp.http.post(schedules(), { backup_schedule: { name: 'busy', cron: '* * * * *', retention: 1 } })).data.backup_schedule;
  // an instance busy with another task is skipped (the task column: the server sweeper leaves it alone)
  await cp.tdb.db('instances').where({ id: inst }).update({ task_id: Tasks.UPDATING.code });
  const skipped = await until(
    'a skipped run',
    async () => {
      const x = (await cp.http.get(`${schedules()}/${s.id}`)).data.backup_schedule;
      return x.last_error ? x : undefined;
    },
    30_000,
  );
  t.regex(skipped.last_error, /skipped: the instance is busy \(task UPDATING\)/);
  t.is(
    await cp.tdb
      .db('backups')
      .where({ schedule_id: s.id })
      .count({ n: '*' })
      .first()
      .then((r) => Number(r?.n)),
    0,
  );
  await cp.tdb.db('instances').where({ id: inst }).update({ task_id: Tasks.NONE.code });
  const ran = await until(
    'a run after the instance is back',
    async () => {
      const b = await cp.tdb.db('backups').where({ schedule_id: s.id }).first('id', 'state');
      return b ? b : undefined;
    },
    30_000,
  );
  t.truthy(ran.id);
  t.is((await cp.http.delete(`${schedules()}/${s.id}`)).status, 202);
});
