// Replication for real on the all-in-one control plane (MariaDB): a source with rows, a replica
// made with replica_of goes ACTIVE with the rows, follows new writes, refuses a user's write; the
// views link both ways; the source cannot be deleted while it has a replica (403); the snapshot
// backup is gone once the replica is ACTIVE; detach makes the replica writable and independent. A
// replica of a datastore configured without replication (PostgreSQL here: no replication_strategy,
// and its version registered without one) is refused by the API (400) with nothing created. Redis
// replication end to end: replication-redis.test.ts; PostgreSQL's guest side: guestagent/engines/postgresql/replication.test.ts.
import test from 'ava';
import mysql from 'mysql2/promise';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';
import { createSource, detach, eventually, ipOf, ready } from '../helpers/replica-set.js';
import { detectPostgresql } from '../../guestagent/engines/postgresql/detect.js';

const PW = 'Repl-app-pw-1';
let cp: ControlPlane;
let source: string;
let sourceIp: string;
let replica: string;
let replicaIp: string;

test.before(async () => {
  // postgresql too, with no replication_strategy configured: the operator has not offered replicas of it
  const pg = await detectPostgresql();
  if (!pg) throw new Error('PostgreSQL is not installed (/usr/lib/postgresql/<version>/bin)');
  cp = await startControlPlane({ config: { mariadb: { replication_strategy: 'MariaDBGTIDReplication' } } });
  await registerDatastore(cp.tdb.db);
  await registerDatastore(cp.tdb.db, { name: 'postgresql', version: pg.name });
  const active = await createSource(cp, {
    name: 'repl-src',
    datastore: { type: 'mariadb' },
    databases: [{ name: 'shop' }],
    users: [{ name: 'app', password: PW, databases: [{ name: 'shop' }] }],
  });
  source = active.id;
  sourceIp = ipOf(active);
  await sql(sourceIp, 'CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(100)) ENGINE=InnoDB');
  await sql(sourceIp, 'INSERT INTO orders VALUES (1, "one"), (2, "two"), (3, "three")');
});
test.after.always(() => cp?.stop());

async function sql(ip: string, statement: string): Promise<unknown[]> {
  const c = await mysql.createConnection({ host: ip, user: 'app', password: PW, database: 'shop' });
  try {
    const [rows] = await c.query(statement);
    return rows as unknown[];
  } finally {
    await c.end();
  }
}

const ids = async (ip: string) => ((await sql(ip, 'SELECT id FROM orders ORDER BY id')) as Array<{ id: number }>).map((r) => r.id);

test.serial("a replica (replica_of) goes ACTIVE with the source's rows and follows its writes", async (t) => {
  const r = await cp.http.post('/instances', { instance: { name: 'repl-copy', replica_of: source } });
  t.is(r.status, 200, JSON.stringify(r.data));
  t.is(r.data.instance.status, 'BUILD');
  t.is(r.data.instance.replica_of.id, source);
  t.deepEqual(r.data.instance.volume, { size: 1 });
  replica = r.data.instance.id;
  const active = await waitForInstance(cp.http, replica, ready, 300_000);
  t.is(active?.status, 'ACTIVE', JSON.stringify(active));
  replicaIp = ipOf(active);
  t.not(replicaIp, sourceIp);
  t.deepEqual(await ids(replicaIp), [1, 2, 3]);
  await sql(sourceIp, 'INSERT INTO orders VALUES (4, "four")');
  t.true(await eventually(async () => (await ids(replicaIp)).includes(4)), 'a new row on the source arrives on the replica');
});

test.serial("the replica refuses a user's write", async (t) => {
  const err = await t.throwsAsync(sql(replicaIp, 'INSERT INTO orders VALUES (99, "no")'));
  t.regex(err!.message, /read.only/i);
  t.false((await ids(sourceIp)).includes(99));
});

test.serial('the views link both ways; the source with a replica cannot be deleted (403)', async (t) => {
  const rep = (await cp.http.get(`/instances/${replica}`)).data.instance;
  t.is(rep.replica_of.id, source);
  const src = (await cp.http.get(`/instances/${source}`)).data.instance;
  t.deepEqual(
    src.replicas.map((x: { id: string }) => x.id),
    [replica],
  );
  const del = await cp.http.delete(`/instances/${source}`);
  t.is(del.status, 403);
  t.deepEqual(del.data, { forbidden: { code: 403, message: 'Detach replicas before deleting replica source.' } });
});

test.serial('the snapshot backup is gone once the replica is ACTIVE', async (t) => {
  const backups = (await cp.http.get('/backups')).data.backups as Array<{ name: string }>;
  t.false(
    backups.some((b) => b.name === `Replication snapshot for ${replica}`),
    JSON.stringify(backups),
  );
  const row = await cp.tdb
    .db('backups')
    .where({ name: `Replication snapshot for ${replica}` })
    .first('deleted', 'instance_id', 'state');
  t.truthy(row, 'a snapshot backup of the source was taken');
  t.truthy(row.deleted);
  t.is(row.instance_id, source);
});

test.serial('detach: the replica is writable and independent, replica_of gone', async (t) => {
  const done = await detach(cp, replica);
  t.is(done.status, 'ACTIVE');
  t.false('replica_of' in done);
  t.false('replicas' in (await cp.http.get(`/instances/${source}`)).data.instance);
  await sql(replicaIp, 'INSERT INTO orders VALUES (50, "mine")');
  await sql(sourceIp, 'INSERT INTO orders VALUES (5, "five")');
  await new Promise((res) => setTimeout(res, 3000));
  t.deepEqual(await ids(replicaIp), [1, 2, 3, 4, 50]);
  t.deepEqual(await ids(sourceIp), [1, 2, 3, 4, 5]);
  t.is((await cp.http.delete(`/instances/${source}`)).status, 202, 'no replica left: the source can be deleted');
  t.false(cp.logs.join('').includes(PW));
});

test.serial('a datastore without a replication strategy: replica_of is refused (400), nothing created, the source untouched', async (t) => {
  const r = await cp.http.post('/instances', { instance: { name: 'kv', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'postgresql' } } });
  t.is(r.status, 200, JSON.stringify(r.data));
  const kv = await waitForInstance(cp.http, r.data.instance.id, ready);
  t.is(kv?.status, 'ACTIVE', JSON.stringify(kv));
  const before = (await cp.tdb.db('instances')).length;
  const rep = await cp.http.post('/instances', { instance: { name: 'kv-copy', replica_of: kv!.id } });
  t.is(rep.status, 400, JSON.stringify(rep.data));
  t.regex(JSON.stringify(rep.data), /Replication is not supported for the 'postgresql' datastore/);
  t.is((await cp.tdb.db('instances')).length, before, 'no replica row');
  t.is((await cp.tdb.db('backups').where({ instance_id: kv!.id })).length, 0, 'no snapshot was taken');
  t.is((await cp.http.get(`/instances/${kv!.id}`)).data.instance.status, 'ACTIVE', 'the source is untouched');
  t.is((await cp.http.delete(`/instances/${kv!.id}`)).status, 202);
});
