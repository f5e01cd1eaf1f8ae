// Incremental backups for real: a full backup, rows, an incremental (`incremental: 1`), rows, a
// second incremental; a new instance restored from the last one has the tables as they were when
// it was taken (the guest stages the full backup, applies each incremental, installs); a tampered
// incremental in the chain fails the restore (ERROR, nothing running); a backup that an
// incremental builds on cannot be deleted.
import test from 'ava';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';
import { filesUnder } from '../helpers/files.js';

let cp: ControlPlane;
let source: string;
let sourceIp: string;

test.before(async () => {
  cp = await startControlPlane({ guestConfig: '[DEFAULT]\nlog_level = info\nbackup_segment_max_size = 1048576\n' });
  await registerDatastore(cp.tdb.db);
  const r = await cp.http.post('/instances', {
    instance: {
      name: 'inc-src',
      flavorRef: '1',
      volume: { size: 1 },
      datastore: { type: 'mariadb' },
      databases: [{ name: 'shop' }],
      users: [{ name: 'app', password: 'Inc-pass-1', databases: [{ name: 'shop' }] }],
    },
  });
  source = r.data.instance.id;
  const active = await waitForInstance(cp.http, source, (i) => i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY');
  sourceIp = (active!.ip as string[])[0]!;
  await sql(
    'CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(200), amount DECIMAL(10,2)) ENGINE=InnoDB',
    'CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT) ENGINE=Aria',
  );
  await write(0, 3000);
});
test.after.always(() => cp?.stop());

async function sql(...statements: string[]): Promise<void> {
  const c = await mysql.createConnection({ host: sourceIp, user: 'app', password: 'Inc-pass-1', database: 'shop' });
  for (const s of statements) await c.query(s);
  await c.end();
}

async function write(from: number, n: number): Promise<void> {
  const c = await mysql.createConnection({ host: sourceIp, user: 'app', password: 'Inc-pass-1', database: 'shop' });
  await c.query('INSERT INTO orders VALUES ?', [
    Array.from({ length: n }, (_, i) => [from + i, `order ${from + i} ${'x'.repeat((from + i) % 150)}`, ((from + i) * 1.25).toFixed(2)]),
  ]);
  await c.query('INSERT INTO notes (body) VALUES (?)', [`written up to ${from + n}`]);
  await c.end();
}

async function checksums(ip: string): Promise<Record<string, unknown>> {
  const c = await mysql.createConnection({ host: ip, user: 'app', password: 'Inc-pass-1', database: 'shop' });
  const [rows] = await c.query('CHECKSUM TABLE orders, notes EXTENDED');
  const [[count]] = (await c.query('SELECT COUNT(*) AS n FROM orders')) as unknown as [[{ n: number }]];
  await c.end();
  return { checksums: rows, count: count.n };
}

async function backup(body: Record<string, unknown>): Promise<Record<string, any>> {
  const r = await cp.http.post('/backups', { backup: { instance: source, ...body } });
  if (r.status !== 202) throw new Error(`backup create: ${r.status} ${JSON.stringify(r.data)}`);
  const id = r.data.backup.id as string;
  for (const deadline = Date.now() + 120_000; ;) {
    const b = (await cp.http.get(`/backups/${id}`)).data.backup;
    if (b.status === 'COMPLETED' || b.status === 'FAILED') return b;
    if (Date.now() > deadline) throw new Error(`backup ${id} still ${b.status}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

async function restore(name: string, backupRef: string): Promise<Record<string, unknown>> {
  const r = await cp.http.post('/instances', { instance: { name, flavorRef: '1', volume: { size: 1 }, restorePoint: { backupRef } } });
  if (r.status !== 200) throw new Error(`restore: ${r.status} ${JSON.stringify(r.data)}`);
  return (await waitForInstance(cp.http, r.data.instance.id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR'))!;
}

const segmentsDir = () => path.join(cp.stateDir, 'objects', 'database_backups_segments');
const segmentsOf = (backupId: string): string[] => {
  const dir = segmentsDir();
  return filesUnder(dir)
    .filter((f) => f.startsWith(backupId))
    .sort();
};

let full: Record<string, any>;
let inc1: Record<string, any>;
let inc2: Record<string, any>;
let atInc2: Record<string, unknown>;

test.serial('full, then two incrementals (incremental: 1, parent_id), each COMPLETED on its parent', async (t) => {
  full = await backup({ name: 'full', incremental: 1 }); // no COMPLETED backup yet: a full one
  t.is(full.status, 'COMPLETED', JSON.stringify(full));
  t.is(full.parent_id, null);
  await write(3000, 1500);
  await sql('UPDATE orders SET amount = amount * 2 WHERE id < 50');
  inc1 = await backup({ name: 'inc1', incremental: 1 });
  t.is(inc1.status, 'COMPLETED', JSON.stringify(inc1));
  t.is(inc1.parent_id, full.id);
  await write(4500, 700);
  await sql('DELETE FROM orders WHERE id BETWEEN 100 AND 149');
  atInc2 = await checksums(sourceIp);
  inc2 = await backup({ name: 'inc2', parent_id: inc1.id });
  t.is(inc2.status, 'COMPLETED', JSON.stringify(inc2));
  t.is(inc2.parent_id, inc1.id);
  const rows = await cp.tdb.db('backups').whereIn('id', [full.id, inc1.id, inc2.id]).select('id', 'backup_type', 'location');
  t.deepEqual(Object.fromEntries(rows.map((r: { id: string; backup_type: string }) => [r.id, r.backup_type])), {
    [full.id]: 'full',
    [inc1.id]: 'incremental',
    [inc2.id]: 'incremental',
  });
  const bytes = (id: string) => segmentsOf(id).reduce((n, f) => n + statSync(path.join(segmentsDir(), f)).size, 0);
  t.true(bytes(inc1.id) > 0 && bytes(inc2.id) > 0);
  t.log(
    `stored: full ${bytes(full.id)} bytes, inc1 ${bytes(inc1.id)}, inc2 ${bytes(inc2.id)} (a small database: the system tables are copied whole each time)`,
  );
  // the source changes after the last backup: the restore must not have this
  await write(5200, 100);
});

test.serial('restore from the second incremental: the new instance has the tables as they were at inc2', async (t) => {
  const restored = await restore('from-inc2', inc2.id);
  t.is(restored.status, 'ACTIVE', JSON.stringify(restored));
  t.deepEqual(await checksums((restored.ip as string[])[0]!), atInc2);
  t.is((atInc2 as { count: number }).count, 5150);
});

test.serial('a tampered incremental in the chain: the restore ends in ERROR', async (t) => {
  const file = path.join(segmentsDir(), segmentsOf(inc1.id)[0]!);
  const bytes = readFileSync(file);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(file, bytes);
  try {
    const end = await restore('tampered-chain', inc2.id);
    t.is(end.status, 'ERROR');
    t.regex(String((end.fault as { message?: string } | undefined)?.message ?? ''), /Build/i);
  } finally {
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(file, bytes);
  }
});

test.serial('delete: refused (400) for a backup an incremental builds on; the leaf first, then its parents', async (t) => {
  const refused = await cp.http.delete(`/backups/${full.id}`);
  t.is(refused.status, 400);
  t.regex(refused.data.badRequest.message, /incremental/);
  t.is((await cp.http.delete(`/backups/${inc1.id}`)).status, 400);
  for (const b of [inc2, inc1, full]) {
    t.is((await cp.http.delete(`/backups/${b.id}`)).status, 202);
    const deadline = Date.now() + 30_000;
    while ((await cp.http.get(`/backups/${b.id}`)).status !== 404 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 300));
  }
  t.deepEqual([...segmentsOf(full.id), ...segmentsOf(inc1.id), ...segmentsOf(inc2.id)], []);
});
