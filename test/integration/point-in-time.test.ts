// Point-in-time restore (trove-ts extension) for real: the guest archives its closed binary logs
// into the object store; POST /ts/instances/{id}/restore_to_time builds a new instance from the
// newest backup completed before the time (here a full + an incremental) and replays the archived
// logs up to the time: it has the rows written before it and none written after.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { ObjectDirectory } from '../../src/common/object-directory.js';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';

let cp: ControlPlane;
let source: string;
let sourceIp: string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.before(async () => {
  cp = await startControlPlane({ guestConfig: '[DEFAULT]\nlog_level = info\nlog_archive_interval = 1\n' });
  const ds = randomUUID();
  const v = randomUUID();
  await cp.tdb.db('datastores').insert({ id: ds, name: 'mariadb', default_version_id: v });
  await cp.tdb
    .db('datastore_versions')
    .insert({ id: v, datastore_id: ds, name: '10.11', version: '10.11', manager: 'mariadb', image_id: 'local', packages: '', active: true });
  const r = await cp.http.post('/instances', {
    instance: {
      name: 'pitr-src',
      flavorRef: '1',
      volume: { size: 1 },
      datastore: { type: 'mariadb' },
      databases: [{ name: 'shop' }],
      users: [{ name: 'app', password: 'Pitr-pass-1', databases: [{ name: 'shop' }] }],
    },
  });
  source = r.data.instance.id;
  const active = await waitForInstance(cp.http, source, (i) => i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY');
  sourceIp = (active!.ip as string[])[0]!;
  await sql('CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(200)) ENGINE=InnoDB');
});
test.after.always(() => cp?.stop());

async function sql(...statements: string[]): Promise<void> {
  const c = await mysql.createConnection({ host: sourceIp, user: 'app', password: 'Pitr-pass-1', database: 'shop' });
  for (const s of statements) await c.query(s);
  await c.end();
}
const write = (from: number, n: number) =>
  sql(`INSERT INTO orders VALUES ${Array.from({ length: n }, (_, i) => `(${from + i}, 'order ${from + i}')`).join(',')}`);

async function checksums(ip: string): Promise<Record<string, unknown>> {
  const c = await mysql.createConnection({ host: ip, user: 'app', password: 'Pitr-pass-1', database: 'shop' });
  const [rows] = await c.query('CHECKSUM TABLE orders EXTENDED');
  const [[count]] = (await c.query('SELECT COUNT(*) AS n, MAX(id) AS top FROM orders')) as unknown as [[{ n: number; top: number }]];
  await c.end();
  return { checksums: rows, count: count.n, top: count.top };
}

async function backup(body: Record<string, unknown>): Promise<Record<string, any>> {
  const r = await cp.http.post('/backups', { backup: { instance: source, ...body } });
  if (r.status !== 202) throw new Error(`backup create: ${r.status} ${JSON.stringify(r.data)}`);
  for (const deadline = Date.now() + 120_000; ;) {
    const b = (await cp.http.get(`/backups/${r.data.backup.id}`)).data.backup;
    if (b.status === 'COMPLETED' || b.status === 'FAILED') return b;
    if (Date.now() > deadline) throw new Error(`backup still ${b.status}`);
    await sleep(500);
  }
}

/** Waits until the source's archived logs reach past `t`. */
async function archivedPast(t: Date): Promise<void> {
  const dir = new ObjectDirectory(path.join(cp.stateDir, 'objects'));
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(500)) {
    const objects = await dir.listObjects('database_backups', `binlogs/${source}/`);
    const last = await Promise.all(objects.map(async (o) => new Date((await dir.headObject('database_backups', o.name)).metadata['last-event'] ?? 0)));
    if (last.some((d) => d > t)) return;
  }
  throw new Error('the binary logs were not archived in time');
}

const second = async () => {
  await sleep(1100);
  return new Date(Math.floor(Date.now() / 1000) * 1000);
};

test.serial('restore_to_time: full + incremental + archived binary logs up to T; nothing after T', async (t) => {
  await write(0, 500);
  const before = await second();
  t.is((await backup({ name: 'full' })).status, 'COMPLETED');
  await write(500, 300);
  t.is((await backup({ name: 'inc', incremental: 1 })).status, 'COMPLETED');
  await write(800, 200);
  await sql('UPDATE orders SET note = CONCAT(note, " changed") WHERE id < 50', 'DELETE FROM orders WHERE id BETWEEN 600 AND 609');
  const at = await second();
  const expected = await checksums(sourceIp);
  await sleep(1100);
  await write(1000, 250);
  await sql('DELETE FROM orders WHERE id < 10');
  await archivedPast(new Date(at.getTime() + 1000));

  const r = await cp.http.post(`/ts/instances/${source}/restore_to_time`, {
    instance: { name: 'pitr', flavorRef: '1', volume: { size: 1 }, restore_time: at.toISOString() },
  });
  t.is(r.status, 200, JSON.stringify(r.data));
  const end = await waitForInstance(cp.http, r.data.instance.id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR');
  t.is(end!.status, 'ACTIVE', JSON.stringify(end));
  t.deepEqual(await checksums((end!.ip as string[])[0]!), expected);
  t.is((expected as { count: number }).count, 990);

  // refused: a time before any backup completed, a time in the future, a bad time, an unknown instance
  const early = await cp.http.post(`/ts/instances/${source}/restore_to_time`, {
    instance: { name: 'x', flavorRef: '1', volume: { size: 1 }, restore_time: before.toISOString() },
  });
  t.is(early.status, 400);
  t.regex(early.data.badRequest.message, /no backup completed before/);
  const future = await cp.http.post(`/ts/instances/${source}/restore_to_time`, {
    instance: { name: 'x', flavorRef: '1', volume: { size: 1 }, restore_time: new Date(Date.now() + 3600_000).toISOString() },
  });
  t.is(future.status, 400);
  t.is((await cp.http.post(`/ts/instances/${source}/restore_to_time`, { instance: { name: 'x', flavorRef: '1', restore_time: 'yesterday' } })).status, 400);
  t.is(
    (await cp.http.post(`/ts/instances/${randomUUID()}/restore_to_time`, { instance: { name: 'x', flavorRef: '1', restore_time: at.toISOString() } })).status,
    404,
  );
});

test.serial('deleting the source removes its archived binary logs and their segments; its backups stay', async (t) => {
  const dir = new ObjectDirectory(path.join(cp.stateDir, 'objects'));
  t.true((await dir.listObjects('database_backups', `binlogs/${source}/`)).length > 0, 'the source has archived logs');
  const backups = (await cp.http.get(`/instances/${source}/backups`)).data.backups as Array<{ id: string }>;
  t.true(backups.length >= 2);
  t.is((await cp.http.delete(`/instances/${source}`)).status, 202);
  for (const deadline = Date.now() + 120_000; (await cp.http.get(`/instances/${source}`)).status !== 404; await sleep(500)) {
    if (Date.now() > deadline) throw new Error('the source was not deleted in time');
  }
  t.deepEqual(await dir.listObjects('database_backups', `binlogs/${source}/`), []);
  t.deepEqual(await dir.listObjects('database_backups_segments', `binlogs/${source}/`), []);
  for (const b of backups) t.is((await cp.http.get(`/backups/${b.id}`)).data.backup?.status, 'COMPLETED');
});
