// Automatic minor version upgrades for real: the control plane (MariaDB control DB, RabbitMQ,
// local compute) and a MariaDB instance made on the side-by-side 10.11.18 build
// (tools/lab/engine-versions.sh), with 10.11.19 (the installed server) registered beside it. The
// taskmanager's maintenance clock is the test's: outside the window nothing happens; moved inside
// it, the taskmanager alone upgrades the instance to 10.11.19 (pre-upgrade backup first, rows
// kept) and records it; the next window, a busy instance is skipped with the reason, then two passes racing for a 10.11.20 that no guest has claim
// it once, and the failed attempt is recorded with the guest's reason, the instance left on 10.11.19.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import mysql from 'mysql2/promise';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { engineBuild } from '../helpers/engine-versions.js';
import { registerDatastore } from '../helpers/datastores.js';
import { startTaskmanager, type Taskmanager } from '../../src/taskmanager/service.js';
import { maintenancePass } from '../../src/taskmanager/maintenance-upgrader.js';
import { createLogger } from '../../src/common/log.js';
import { cloudDrivers } from '../../src/clients/factory.js';

const old = engineBuild('mariadb', '10.11.18');
const PW = 'Maint-pw-7';
let cp: ControlPlane;
let tm: Taskmanager;
/** the taskmanager's maintenance clock: Wednesday noon, far from the window (Sunday 03:00-04:00) */
let clock = new Date('2026-12-09T12:00:00Z');
const WEEK1 = new Date('2026-12-13T03:10:00Z');
const WEEK2 = new Date('2026-12-20T03:10:00Z');
let datastoreId: string;

test.before(async () => {
  cp = await startControlPlane({
    inProcessTaskmanager: false,
    config: { DEFAULT: { maintenance_interval: '1' } },
    guestConfig: `[DEFAULT]\nlog_level = info\n[mariadb]\nversion_dirs = ${old.dir}\n`,
  });
  const log = createLogger('tm', { destination: new Writable({ write: (c, _e, cb) => (cp.logs.push(String(c)), cb()) }), level: 'debug' });
  tm = await startTaskmanager(cp.raw, log, cloudDrivers(cp.raw, log).flows(), { scheduleClock: () => clock });
  ({ datastoreId } = await registerDatastore(cp.tdb.db, { version: '10.11.18' }));
  await cp.tdb.db('datastore_versions').insert({
    id: randomUUID(),
    datastore_id: datastoreId,
    name: '10.11.19',
    version: '10.11.19',
    manager: 'mariadb',
    image_id: 'local',
    packages: '',
    active: true,
  });
});
test.after.always(async () => {
  await tm?.stop();
  await cp?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const starts = (id: string) => cp.logs.filter((l) => l.includes('automatic minor upgrade started') && l.includes(id)).length;

test.serial(
  'inside its window, with a newer patch release registered, the taskmanager alone upgrades the instance; outside, nothing; two passes claim once',
  async (t) => {
    const r = await cp.http.post('/instances', {
      instance: {
        name: 'maint',
        flavorRef: '1',
        volume: { size: 1 },
        datastore: { type: 'mariadb', version: '10.11.18' },
        databases: [{ name: 'shop' }],
        users: [{ name: 'app', password: PW, databases: [{ name: 'shop' }] }],
      },
    });
    t.is(r.status, 200, JSON.stringify(r.data));
    const id = r.data.instance.id as string;
    const active = await waitForInstance(cp.http, id, (i) => i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY', 240_000);
    const host = (active!.ip as string[])[0]!;
    const c = await mysql.createConnection({ host, user: 'app', password: PW, database: 'shop' });
    t.teardown(() => c.end().catch(() => undefined));
    t.regex(((await c.query('SELECT VERSION() AS v')) as [Array<{ v: string }>, unknown])[0][0]!.v, /^10\.11\.18/);
    await c.query('CREATE TABLE t (id INT PRIMARY KEY, v TEXT)');
    await c.query(`INSERT INTO t VALUES ${Array.from({ length: 300 }, (_, i) => `(${i}, 'row')`).join(',')}`);
    await c.end();

    t.deepEqual(
      (await cp.http.get(`/ts/instances/${id}/pending_upgrades`)).data.pending_upgrades.map((v: { name: string }) => v.name),
      ['10.11.19'],
    );
    const put = await cp.http.put(`/ts/instances/${id}/maintenance`, { maintenance: { window: 'sun:03:00-sun:04:00', auto_minor_version_upgrade: true } });
    t.is(put.status, 200, JSON.stringify(put.data));
    t.like(put.data.maintenance, {
      window: 'sun:03:00-sun:04:00',
      day_of_week: 'sun',
      start_time: '03:00',
      duration: 60,
      auto_minor_version_upgrade: true,
      pending_upgrade: '10.11.19',
      storage_driver: 'local',
      last_attempt: null,
    });

    // outside the window: the timer's passes (every second) and one of ours start nothing
    t.deepEqual(await maintenancePass(tm.ctx, clock), []);
    await sleep(4000);
    const still = (await cp.http.get(`/instances/${id}`)).data.instance;
    t.is(still.status, 'ACTIVE');
    t.is(still.datastore.version, '10.11.18');
    t.is((await cp.http.get(`/ts/instances/${id}/maintenance`)).data.maintenance.last_attempt, null);
    t.is(starts(id), 0);

    // the clock inside the window: nobody calls anything, the taskmanager's own pass upgrades it
    clock = WEEK1;
    await waitForInstance(cp.http, id, (i) => i?.status === 'UPGRADE' || (i?.datastore as { version: string }).version === '10.11.19', 60_000);
    const done = await waitForInstance(cp.http, id, (i) => i?.status !== 'UPGRADE' && i?.operating_status === 'HEALTHY', 600_000);
    t.is(done!.status, 'ACTIVE', JSON.stringify(done));
    t.is((done!.datastore as { version: string }).version, '10.11.19');
    t.is(starts(id), 1, 'started once, though the timer passed many times inside the window');
    const c2 = await mysql.createConnection({ host, user: 'app', password: PW, database: 'shop' });
    t.teardown(() => c2.end().catch(() => undefined));
    t.regex(((await c2.query('SELECT VERSION() AS v')) as [Array<{ v: string }>, unknown])[0][0]!.v, /^10\.11\.19/);
    t.is(((await c2.query('SELECT COUNT(*) AS n FROM t')) as [Array<{ n: number }>, unknown])[0][0]!.n, 300);
    await c2.end();
    const after = (await cp.http.get(`/ts/instances/${id}/maintenance`)).data.maintenance;
    t.like(after, {
      pending_upgrade: null,
      last_attempt: { at: '2026-12-13T03:10:00', from_version: '10.11.18', to_version: '10.11.19', result: 'SUCCEEDED', fault: null },
    });
    const backups = (await cp.http.get(`/instances/${id}/backups`)).data.backups as Array<{ name: string; status: string }>;
    t.true(
      backups.some((b) => b.name === `Pre-upgrade backup of ${id}` && b.status === 'COMPLETED'),
      JSON.stringify(backups),
    );
    t.deepEqual((await cp.http.get(`/ts/instances/${id}/pending_upgrades`)).data.pending_upgrades, []);

    // 10.11.20 registered, but no guest has its build. Within the same window: not again.
    await cp.tdb.db('datastore_versions').insert({
      id: randomUUID(),
      datastore_id: datastoreId,
      name: '10.11.20',
      version: '10.11.20',
      manager: 'mariadb',
      image_id: 'local',
      packages: '',
      active: true,
    });
    t.deepEqual(await maintenancePass(tm.ctx, new Date(WEEK1.getTime() + 20 * 60_000)), [], 'one attempt per window');
    // the next week's window (the timer's clock stays in the last one), the instance busy with a backup: skipped, and why
    const busy = randomUUID();
    await cp.tdb.db('backups').insert({
      id: busy,
      name: 'running',
      tenant_id: 'p-local',
      instance_id: id,
      state: 'BUILDING',
      datastore_version_id: (await cp.tdb.db('instances').where({ id }).first()).datastore_version_id,
      backup_type: 'full',
      deleted: false,
      created: new Date(),
      updated: new Date(),
    });
    t.deepEqual(await maintenancePass(tm.ctx, WEEK2), []);
    t.like((await cp.http.get(`/ts/instances/${id}/maintenance`)).data.maintenance, {
      last_attempt: { result: 'SUCCEEDED' },
      last_skip: { at: '2026-12-20T03:10:00', reason: 'the upgrade to 10.11.20 waits: a backup of the instance is already running' },
    });
    t.is((await cp.http.get(`/instances/${id}`)).data.instance.status, 'BACKUP', 'not taken for the upgrade');
    await cp.tdb.db('backups').where({ id: busy }).delete();
    // free again: two passes race, one claims
    const [a, b] = await Promise.all([maintenancePass(tm.ctx, WEEK2), maintenancePass(tm.ctx, WEEK2)]);
    t.deepEqual([...a!, ...b!], [id]);
    const failed = await waitForInstance(cp.http, id, (i) => i?.status === 'ACTIVE' && Boolean((i as { fault?: unknown }).fault), 600_000);
    t.is((failed!.datastore as { version: string }).version, '10.11.19', 'left on the version it runs');
    const m = (await cp.http.get(`/ts/instances/${id}/maintenance`)).data.maintenance;
    t.like(m.last_attempt, { at: '2026-12-20T03:10:00', from_version: '10.11.19', to_version: '10.11.20', result: 'FAILED' });
    t.regex(m.last_attempt.fault, /10\.11\.20/);
    t.regex(m.last_attempt.fault, /mariadbd/, "the guest's reason names the builds it found");
    t.is(starts(id), 2);
    t.deepEqual(await maintenancePass(tm.ctx, new Date(WEEK2.getTime() + 5 * 60_000)), [], 'a failed attempt waits for the next window');
  },
);
