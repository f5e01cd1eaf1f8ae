// Switchover and failover between three real mariadbd in temp dirs, through the guest's own
// handlers, in the order the taskmanager's promote and eject flows call them. A source S and two
// replicas R1, R2 are built as replication.test.ts builds one. Switchover: S made read-only, R1
// waits for S's last transaction, is detached for failover and enabled as the source, S (which never
// replicated) and R2 attach to it; R1's writes reach both, which refuse users' writes, and all three
// hold the same rows (counts, checksums, GTID positions). Failover: R1's server is stopped, the
// replicas' get_last_txn compared, the most advanced promoted, the other attached to it; nothing
// lost, new writes flow. wait_for_txn fails within its timeout on a transaction that never comes.
// No replication password in any log line.
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { call, GuestAgents, lastTxn, promote, until, type GuestArgs, type TestAgent } from '../../../test/helpers/guest-agents.js';
import { InvalidValueError } from '../../capabilities.js';
import { mariadbEngine } from '../mariadb/manager.js';
import { compareGtidPositions } from './replication.js';

const IDS = { s: '5a1d0e6e-7c8f-4d1a-8b52-3f0c9e4d0001', r1: '5a1d0e6e-7c8f-4d1a-8b52-3f0c9e4d0002', r2: '5a1d0e6e-7c8f-4d1a-8b52-3f0c9e4d0003' };
const APP = { user: 'app', password: 'app-Secret-1', database: 'shop' };
const GTID_POSITION = /^\d+-\d+-\d+(,\d+-\d+-\d+)*$/;

const agents = new GuestAgents({ prefix: 'mysql-failover-', section: 'mariadb', build: mariadbEngine, defaults: { replica_attach_timeout: '20' } });
const { logged, passwords } = agents;
type Agent = TestAgent;

const prepareArgs = (extra: Partial<GuestArgs<'prepare'>> = {}): GuestArgs<'prepare'> => ({
  memory_mb: 256,
  databases: [{ _name: 'shop' }],
  users: [{ _name: 'app', _host: '%', _password: APP.password, _databases: [{ _name: 'shop' }] }],
  ...extra,
});

async function sql<T = Array<Record<string, unknown>>>(port: number, query: string, params: unknown[] = []): Promise<T> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port, ...APP });
  try {
    return (await c.query(query, params))[0] as T;
  } finally {
    await c.end();
  }
}

/** As the agent's own admin (over its socket): what the server really holds. */
async function admin<T = Array<Record<string, unknown>>>(a: Agent, query: string, params: unknown[] = []): Promise<T> {
  const lc = a.engine.lifecycle as unknown as { admin: { connect(): Promise<mysql.Connection> } };
  const c = await lc.admin.connect();
  try {
    return (await c.query(query, params))[0] as T;
  } finally {
    await c.end();
  }
}

const count = async (a: Agent) => Number((await admin<Array<{ n: number }>>(a, 'SELECT COUNT(*) AS n FROM shop.orders'))[0]!.n);
const checksum = async (a: Agent) => String((await admin<Array<{ Checksum: number }>>(a, 'CHECKSUM TABLE shop.orders'))[0]!.Checksum);
const readOnly = async (a: Agent) => Number((await admin<Array<{ ro: number }>>(a, 'SELECT @@read_only AS ro'))[0]!.ro);
const slave = async (a: Agent) => (await admin<Array<Record<string, string>>>(a, 'SHOW SLAVE STATUS'))[0];

/** Rows `from`..`from+n-1`, written by the app user (a user's write: refused on a read-only server). */
async function insert(a: Agent, from: number, n: number): Promise<void> {
  const rows = Array.from({ length: n }, (_, i) => [from + i, `item-${from + i}`]);
  await sql(a.port, 'INSERT INTO orders VALUES ?', [rows]);
}

let s: Agent;
let r1: Agent;
let r2: Agent;

test.before(async () => {
  agents.open();
  s = await agents.agent('s', IDS.s);
  await call(s, 'prepare', prepareArgs());
  await sql(s.port, 'CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(40)) ENGINE=InnoDB');
  await insert(s, 0, 300);
  [r1, r2] = (await agents.addReplicas(
    s,
    [
      { name: 'r1', id: IDS.r1 },
      { name: 'r2', id: IDS.r2 },
    ],
    { backupId: 'snap', prepareArgs, afterBackup: () => insert(s, 300, 50) },
  )) as [Agent, Agent];
  await insert(s, 350, 50);
  for (const r of [r1, r2]) await until(`${r.name} caught up`, async () => (await count(r)) === 400);
});

test.after.always(() => agents.close());

test.serial('get_last_txn: domain-server-seq, the same on a source and its caught-up replicas', async (t) => {
  const txn = await lastTxn(s);
  t.regex(txn, GTID_POSITION);
  const [ids] = await admin<Array<{ id: number }>>(s, 'SELECT @@server_id AS id');
  t.true(
    txn.split(',').some((g) => g.split('-')[1] === String(ids!.id)),
    "the source's own transactions",
  );
  await until("both replicas at the source's position", async () => (await lastTxn(r1)) === txn && (await lastTxn(r2)) === txn);
  t.is(compareGtidPositions(await lastTxn(r1), txn), 0);
  await insert(s, 400, 1);
  const newer = await lastTxn(s);
  t.is(compareGtidPositions(newer, txn), 1);
  t.is(compareGtidPositions(txn, newer), -1);
  await until('the replicas caught up again', async () => (await count(r1)) === 401 && (await count(r2)) === 401);
});

test.serial('wait_for_txn: a transaction that never comes fails within its timeout, saying how far the replica got', async (t) => {
  const txn = await lastTxn(s);
  await call(r2, 'wait_for_txn', { txn, timeout: 5 });
  const [domain, server, seq] = txn.split(',')[0]!.split('-');
  const never = `${domain}-${server}-${Number(seq) + 1000}`;
  const started = Date.now();
  await t.throwsAsync(call(r2, 'wait_for_txn', { txn: never, timeout: 2 }), {
    message: new RegExp(`did not reach the transaction '${never}' within 2 s: it has applied '${txn.replace(/[-,]/g, '\\$&')}'; IO thread Yes, SQL thread Yes`),
  });
  const took = Date.now() - started;
  t.true(took >= 1900 && took < 6000, `${took} ms`);
  await t.throwsAsync(call(r2, 'wait_for_txn', { txn: 'not-a-gtid', timeout: 2 }), {
    message: /not a GTID position: 'not-a-gtid'/,
  });
});

test.serial("make_read_only: users' writes refused (in SQL and by the guest verbs), kept in my.cnf; false allows them again; twice is fine", async (t) => {
  const cnf = () => readFileSync(path.join(s.stateDir, 'my.cnf'), 'utf8');
  for (let i = 0; i < 2; i++) await call(s, 'make_read_only', { read_only: true });
  t.is(await readOnly(s), 1);
  t.regex(cnf(), /^read_only = 1$/m);
  await t.throwsAsync(insert(s, 90_000, 1), { message: /read-only/ });
  await t.throwsAsync(call(s, 'create_user', { users: [{ _name: 'late', _password: 'l-Secret-1' }] }), {
    instanceOf: InvalidValueError,
    message: /read-only/,
  });
  for (let i = 0; i < 2; i++) await call(s, 'make_read_only', { read_only: false });
  t.is(await readOnly(s), 0);
  t.notRegex(cnf(), /read_only/);
  await insert(s, 401, 1);
  // a replica stays read-only whatever make_read_only says
  await call(r1, 'make_read_only', { read_only: false });
  t.is(await readOnly(r1), 1);
  await until('the replicas caught up', async () => (await count(r1)) === 402 && (await count(r2)) === 402);
});

test.serial('switchover: S read-only, R1 catches up and becomes the source, S and R2 follow it; nothing lost or applied twice', async (t) => {
  // 1. the old source stops taking writes; the chosen replica catches up with it
  await call(s, 'make_read_only', { read_only: true });
  const txn = await lastTxn(s);
  await call(r1, 'wait_for_txn', { txn, timeout: 30 });
  t.is(await lastTxn(r1), txn);
  // 2. R1 becomes the source
  await promote(r1, { twice: true });
  t.is(await slave(r1), undefined);
  t.is(await readOnly(r1), 0);
  t.notRegex(readFileSync(path.join(r1.stateDir, 'my.cnf'), 'utf8'), /read_only/);
  // 3. the old source and the other replica follow R1
  const started = Date.now();
  await agents.attach(s, r1);
  await agents.attach(r2, r1);
  t.log(`two attaches: ${Date.now() - started} ms`);
  // 4. the old source's accounts for R1 and R2 go
  for (const id of [IDS.r1, IDS.r2]) await call(s, 'cleanup_source_on_replica_detach', { replica_info: { replica_id: id } });
  t.deepEqual(await admin(s, "SELECT User FROM mysql.user WHERE User LIKE 'repl\\_%'"), []);

  await insert(r1, 1000, 200);
  await sql(r1.port, "UPDATE orders SET item = 'changed on R1' WHERE id < 10");
  for (const m of [s, r2]) await until(`${m.name} has R1's writes`, async () => (await count(m)) === 602);
  const newSource = await lastTxn(r1);
  for (const m of [s, r2]) {
    const st = await slave(m);
    t.is(st?.Slave_IO_Running, 'Yes', m.name);
    t.is(st?.Slave_SQL_Running, 'Yes', m.name);
    t.is(st?.Last_SQL_Error, '', m.name); // nothing applied twice (a duplicate key would stop it)
    t.is(Number(st?.Master_Port), r1.port);
    t.is(st?.Using_Gtid, 'Slave_Pos');
    await until(`${m.name} at R1's position`, async () => (await lastTxn(m)) === newSource);
    t.is(await checksum(m), await checksum(r1), m.name);
    t.is(await readOnly(m), 1, m.name);
    t.regex(readFileSync(path.join(m.stateDir, 'my.cnf'), 'utf8'), /^read_only = 1$/m);
    await t.throwsAsync(insert(m, 95_000, 1), { message: /read-only/ });
    await t.throwsAsync(call(m, 'create_database', { databases: [{ _name: 'more' }] }), {
      instanceOf: InvalidValueError,
      message: /read-only replica/,
    });
  }
  t.is(await count(r1), 602);
  const serverIds = await Promise.all([s, r1, r2].map(async (m) => Number((await admin<Array<{ id: number }>>(m, 'SELECT @@server_id AS id'))[0]!.id)));
  t.is(new Set(serverIds).size, 3);
  // R1 takes the users' changes; they reach the others through replication
  await call(r1, 'create_user', { users: [{ _name: 'after', _host: '%', _password: 'a-Secret-1', _databases: [{ _name: 'shop' }] }] });
  await until('the new user on S', async () => (await admin(s, "SELECT 1 FROM mysql.user WHERE User = 'after'")).length === 1);
  // attaching again is a no-op in effect
  await agents.attach(r2, r1);
  await insert(r1, 1200, 1);
  await until('R2 after a second attach', async () => (await count(r2)) === 603);
  t.is(await checksum(r2), await checksum(r1));
});

test.serial('failover: R1 stops; the most advanced replica is promoted, the other follows it; new writes flow', async (t) => {
  // S falls behind: its replication stops before R1's last writes
  await admin(s, 'STOP SLAVE');
  await insert(r1, 2000, 30);
  await until("R2 has R1's last writes", async () => (await count(r2)) === 633);
  await r1.engine.lifecycle.stop();
  t.is(await r1.engine.lifecycle.health(), 'shutdown');

  const txns = { s: await lastTxn(s), r2: await lastTxn(r2) };
  t.regex(txns.s, GTID_POSITION);
  t.regex(txns.r2, GTID_POSITION);
  t.is(compareGtidPositions(txns.r2, txns.s), 1, `${txns.r2} is ahead of ${txns.s}`);
  const winner = compareGtidPositions(txns.r2, txns.s) > 0 ? r2 : s;
  t.is(winner, r2);

  await promote(r2, { twice: true });
  t.is(await readOnly(r2), 0);
  await agents.attach(s, r2);
  await until('S has what it missed', async () => (await count(s)) === 633);
  await insert(r2, 3000, 40);
  await until("S has R2's writes", async () => (await count(s)) === 673);
  await until("S at R2's position", async () => (await lastTxn(s)) === (await lastTxn(r2)));
  t.is(await checksum(s), await checksum(r2));
  const st = await slave(s);
  t.is(st?.Last_SQL_Error, '');
  t.is(Number(st?.Master_Port), r2.port);
  t.is(await readOnly(s), 1);
});

test.serial('switchover back to S: R2 (which followed R1 before) follows S from its own position; nothing applied twice', async (t) => {
  await agents.switchover(r2, s, { twice: true });
  await agents.attach(r2, s);
  await insert(s, 4000, 20);
  await until("R2 has S's writes", async () => (await count(r2)) === 693);
  await until("R2 at S's position", async () => (await lastTxn(r2)) === (await lastTxn(s)));
  const st = await slave(r2);
  t.is(st?.Slave_SQL_Running, 'Yes');
  t.is(st?.Last_SQL_Error, '');
  t.is(await checksum(r2), await checksum(s));
  t.is(await readOnly(s), 0);
  t.is(await readOnly(r2), 1);
});

test.serial('a replica promoted before it replicated anything (its binary log is empty) is followed by the others', async (t) => {
  const [r3] = (await agents.addReplicas(s, [{ name: 'r3', id: '5a1d0e6e-7c8f-4d1a-8b52-3f0c9e4d0004' }], { backupId: 'snap-3', prepareArgs })) as [Agent];
  // its binary log holds no transaction yet: the others ask it for a position in a domain it never logged
  t.deepEqual(await admin(r3, 'SELECT @@gtid_binlog_pos AS b'), [{ b: '' }]);
  await call(s, 'make_read_only', { read_only: true });
  const txn = await lastTxn(s);
  await call(r3, 'wait_for_txn', { txn, timeout: 30 });
  t.is(await lastTxn(r3), txn);
  await promote(r3, { twice: true });
  await agents.attach(s, r3);
  await agents.attach(r2, r3);
  await insert(r3, 5000, 10);
  for (const m of [s, r2]) {
    await until(`${m.name} has R3's writes`, async () => (await count(m)) === 703);
    t.is(await checksum(m), await checksum(r3));
    t.is((await slave(m))?.Last_SQL_Error, '');
  }
});

test.serial("attach_replica on a member that diverged (wrote what its new source lacks) fails at once with the server's reason", async (t) => {
  await call(r2, 'detach_replica');
  await insert(r2, 6000, 1); // a transaction only R2 has
  const r3Agent = agents.named('r3');
  await insert(r3Agent, 6100, 1);
  t.true(Number.isNaN(compareGtidPositions(await lastTxn(r2), await lastTxn(r3Agent))), 'the same sequence number written by two servers');
  const started = Date.now();
  await t.throwsAsync(agents.attach(r2, r3Agent), { message: /^replication from 127\.0\.0\.1:\d+ stopped \(IO thread No, SQL thread Yes: .*1236/ });
  t.true(Date.now() - started < 10_000);
});

test('compareGtidPositions: per domain, the higher sequence number; a missing domain is 0; diverged is NaN', (t) => {
  t.is(compareGtidPositions('0-1-10', '0-2-9'), 1);
  t.is(compareGtidPositions('0-2-9', '0-1-10'), -1);
  t.is(compareGtidPositions('0-1-10,1-5-3', '1-5-3,0-1-10'), 0);
  t.is(compareGtidPositions('0-1-10,1-5-3', '0-1-10'), 1);
  t.true(Number.isNaN(compareGtidPositions('0-1-10', '0-2-10')), 'one sequence number, two servers: diverged');
  t.is(compareGtidPositions('', '0-1-1'), -1);
  t.true(Number.isNaN(compareGtidPositions('0-1-10,1-5-2', '0-1-9,1-5-3')));
  t.is(compareGtidPositions('0-1-18446744073709551615', '0-1-18446744073709551614'), 1);
  t.throws(() => compareGtidPositions('0-1', '0-1-1'), { message: /not a GTID position/ });
});

test.serial('no replication password in any log line', (t) => {
  t.true(passwords.length >= 5);
  t.true(logged.some((l) => l.includes('replicating from the new source')));
  for (const pw of passwords)
    t.false(
      logged.some((l) => l.includes(pw)),
      'a replication password was logged',
    );
});
