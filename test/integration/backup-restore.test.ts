// Backups for real: a guest runs mariadb-backup on its real mariadbd and streams the backup
// (compressed, encrypted, checksummed, in segments) into the all-in-one object store; a new
// instance restored from it has the same tables, byte for byte; a tampered backup never becomes a
// running instance; deleting the backup removes its objects.
import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import mysql from 'mysql2/promise';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';
import { filesUnder } from '../helpers/files.js';

let cp: ControlPlane;
let source: string;
let sourceIp: string;
const rowsWritten = 3000;

test.before(async () => {
  // small segments so the backup is several objects
  cp = await startControlPlane({ guestConfig: '[DEFAULT]\nlog_level = info\nbackup_segment_max_size = 1048576\n' });
  await registerDatastore(cp.tdb.db);
  const r = await cp.http.post('/instances', {
    instance: {
      name: 'src',
      flavorRef: '1',
      volume: { size: 1 },
      datastore: { type: 'mariadb' },
      databases: [{ name: 'shop' }],
      users: [{ name: 'app', password: 'Bk-pass-1', databases: [{ name: 'shop' }] }],
    },
  });
  source = r.data.instance.id;
  const active = await waitForInstance(cp.http, source, (i) => i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY');
  sourceIp = (active!.ip as string[])[0]!;
  const c = await mysql.createConnection({ host: sourceIp, user: 'app', password: 'Bk-pass-1', database: 'shop', multipleStatements: true });
  await c.query('CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(200), amount DECIMAL(10,2)) ENGINE=InnoDB');
  const values = Array.from({ length: rowsWritten }, (_, i) => [i, `order ${i} ${'x'.repeat(i % 150)} ' "`, (i * 1.25).toFixed(2)]);
  await c.query('INSERT INTO orders VALUES ?', [values]);
  await c.query('CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT) ENGINE=Aria; INSERT INTO notes (body) VALUES ("kept"), ("also kept")');
  await c.end();
});
test.after.always(() => cp?.stop());

async function checksums(ip: string, password = 'Bk-pass-1'): Promise<Record<string, unknown>> {
  const c = await mysql.createConnection({ host: ip, user: 'app', password, database: 'shop' });
  const [rows] = await c.query('CHECKSUM TABLE orders, notes EXTENDED');
  const [[count]] = (await c.query('SELECT COUNT(*) AS n FROM orders')) as unknown as [[{ n: number }]];
  await c.end();
  return { checksums: rows, count: count.n };
}

async function waitBackup(id: string, ms = 120_000): Promise<Record<string, any>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const b = (await cp.http.get(`/backups/${id}`)).data.backup;
    if (b.status === 'COMPLETED' || b.status === 'FAILED') return b;
    if (Date.now() > deadline) throw new Error(`backup ${id} still ${b.status}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const objectsDir = () => path.join(cp.stateDir, 'objects');

let backupId: string;
let expected: Record<string, unknown>;

test.serial('backup: NEW → COMPLETED with location, checksum and size; stored encrypted in segments', async (t) => {
  expected = await checksums(sourceIp);
  const r = await cp.http.post('/backups', { backup: { name: 'nightly', instance: source, description: 'before the change' } });
  t.is(r.status, 202, JSON.stringify(r.data));
  backupId = r.data.backup.id;
  const done = await waitBackup(backupId);
  t.is(done.status, 'COMPLETED', JSON.stringify(done));
  t.false('fail_reason' in done, 'a COMPLETED backup has no fail_reason');
  t.truthy(done.locationRef);
  t.true(done.size > 0, `size ${done.size}`);
  const row = await cp.tdb.db('backups').where({ id: backupId }).first();
  t.regex(row.checksum, /^[0-9a-f]{64}$/);
  const segments = filesUnder(path.join(objectsDir(), 'database_backups_segments'));
  t.true(segments.length >= 2, `segments: ${segments.join(', ')}`);
  // the stored bytes are not the database's: a row's text is nowhere in them
  const blob = segments.map((f) => readFileSync(path.join(objectsDir(), 'database_backups_segments', f))).reduce((a, b) => Buffer.concat([a, b]));
  t.false(blob.includes(Buffer.from('order 17 ')));
  t.is((await cp.http.get(`/instances/${source}`)).data.instance.status, 'ACTIVE');
  // the source keeps changing after the backup
  const c = await mysql.createConnection({ host: sourceIp, user: 'app', password: 'Bk-pass-1', database: 'shop' });
  await c.query('DELETE FROM orders WHERE id < 100');
  await c.end();
});

test.serial('restore: a new instance from the backup has the tables as they were, and the users', async (t) => {
  const r = await cp.http.post('/instances', { instance: { name: 'restored', flavorRef: '1', volume: { size: 1 }, restorePoint: { backupRef: backupId } } });
  t.is(r.status, 200, JSON.stringify(r.data));
  const id = r.data.instance.id;
  const active = await waitForInstance(cp.http, id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR');
  t.is(active!.status, 'ACTIVE', JSON.stringify(active));
  const ip = (active!.ip as string[])[0]!;
  t.deepEqual(await checksums(ip), expected);
  t.is((expected as { count: number }).count, rowsWritten);
  // the restored instance is managed like any other
  t.is((await cp.http.post(`/instances/${id}/databases`, { databases: [{ name: 'extra' }] })).status, 202);
  t.deepEqual(
    (await cp.http.get(`/instances/${id}/databases`)).data.databases.map((d: { name: string }) => d.name),
    ['extra', 'shop'],
  );
});

test.serial(
  "restore with databases and users (as Trove takes it): the new ones are made after the restore, the backup's own are kept as they are there",
  async (t) => {
    const r = await cp.http.post('/instances', {
      instance: {
        name: 'restored-plus',
        flavorRef: '1',
        volume: { size: 1 },
        restorePoint: { backupRef: backupId },
        databases: [{ name: 'shop' }, { name: 'crm' }],
        users: [
          { name: 'app', password: 'Other-pass-9', databases: [{ name: 'shop' }] },
          { name: 'crmuser', password: 'Crm-pass-1', databases: [{ name: 'crm' }, { name: 'shop' }] },
        ],
      },
    });
    t.is(r.status, 200, JSON.stringify(r.data));
    const id = r.data.instance.id;
    const active = await waitForInstance(cp.http, id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR');
    t.is(active!.status, 'ACTIVE', JSON.stringify(active));
    const ip = (active!.ip as string[])[0]!;
    // the backup's data and its user (with the backup's password, not the call's)
    t.deepEqual(await checksums(ip), expected);
    await t.throwsAsync(mysql.createConnection({ host: ip, user: 'app', password: 'Other-pass-9', database: 'shop' }));
    t.deepEqual(
      (await cp.http.get(`/instances/${id}/databases`)).data.databases.map((d: { name: string }) => d.name),
      ['crm', 'shop'],
    );
    // the new user reaches the new database and, as asked, the backup's
    const c = await mysql.createConnection({ host: ip, user: 'crmuser', password: 'Crm-pass-1', database: 'crm' });
    await c.query('CREATE TABLE leads (id INT PRIMARY KEY)');
    const [[n]] = (await c.query('SELECT COUNT(*) AS n FROM shop.orders')) as unknown as [[{ n: number }]];
    await c.end();
    t.is(n.n, rowsWritten);
    t.is((await cp.http.delete(`/instances/${id}`)).status, 202);
  },
);

test.serial('a tampered backup fails the restore cleanly: ERROR with a fault, no running engine', async (t) => {
  const segDir = path.join(objectsDir(), 'database_backups_segments');
  const seg = filesUnder(segDir).sort()[0]!;
  const file = path.join(segDir, seg);
  const bytes = readFileSync(file);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(file, bytes);
  const r = await cp.http.post('/instances', { instance: { name: 'tampered', flavorRef: '1', volume: { size: 1 }, restorePoint: { backupRef: backupId } } });
  t.is(r.status, 200);
  const tamperedId = r.data.instance.id as string;
  const end = await waitForInstance(cp.http, tamperedId, (i) => i?.status === 'ERROR' || i?.status === 'ACTIVE');
  t.is(end!.status, 'ERROR');
  const fault = end!.fault as { message: string; details: string };
  t.regex(
    fault.message,
    new RegExp(
      `^Building the instance failed: the database could not start: restore of \\S+ failed: backup checksum mismatch in segment 1 of database_backups/${backupId}\\S*: md5 [0-9a-f]{32}, the manifest records [0-9a-f]{32}; nothing was restored$`,
    ),
    JSON.stringify(fault.message),
  );
  t.notRegex(fault.message, /see the guest log/);
  t.regex(fault.details, /--- server console \(guest agent log\)/);
  // nothing left running: no server directory, no engine process of that instance
  t.false(existsSync(path.join(cp.stateDir, 'servers', tamperedId)), 'the server was removed');
  const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  t.false(ps.includes(tamperedId), 'no process of the failed instance');
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(file, bytes);
});

test.serial('delete: the backup and all its objects are gone; its quota is given back', async (t) => {
  const before = (await cp.tdb.db('quota_usages').where({ resource: 'backups' }).first()).in_use;
  t.is((await cp.http.delete(`/backups/${backupId}`)).status, 202);
  const deadline = Date.now() + 30_000;
  while ((await cp.http.get(`/backups/${backupId}`)).status !== 404 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 300));
  t.is((await cp.http.get(`/backups/${backupId}`)).status, 404);
  t.deepEqual(filesUnder(path.join(objectsDir(), 'database_backups_segments')), []);
  t.deepEqual(filesUnder(path.join(objectsDir(), 'database_backups')), []);
  t.is((await cp.tdb.db('quota_usages').where({ resource: 'backups' }).first()).in_use, before - 1);
});

test.serial('a backup of an instance that is not ACTIVE is refused; a guest that cannot back up ends FAILED', async (t) => {
  await cp.tdb.db('instances').where({ id: source }).update({ task_id: 0x04 });
  const r = await cp.http.post('/backups', { backup: { name: 'busy', instance: source } });
  await cp.tdb.db('instances').where({ id: source }).update({ task_id: 0x01 });
  t.is(r.status, 422);
  // a container that cannot be written: a file where the container directory would be
  writeFileSync(path.join(objectsDir(), 'blocked'), 'not a directory');
  const bad = await cp.http.post('/backups', { backup: { name: 'blocked', instance: source, swift_container: 'blocked' } });
  t.is(bad.status, 202);
  const end = await waitBackup(bad.data.backup.id);
  t.is(end.status, 'FAILED');
  // backup show says why, in the guest's words
  t.regex(String(end.fail_reason), /ENOTDIR|EEXIST|not a directory/, JSON.stringify(end));
  t.deepEqual(filesUnder(path.join(objectsDir(), 'blocked_segments')), [], 'no partial segments left');
  t.is((await cp.http.get(`/instances/${source}`)).data.instance.status, 'ACTIVE');
});
