// Replication between two real mariadbd in temp dirs, through the guest's own handlers: the source
// is prepared and written to, get_replication_snapshot makes a hidden replication account, a
// physical backup goes through create_backup into the local store, and the replica is prepared
// from it with snapshot.master as the taskmanager does. Then: the rows are there, new rows arrive,
// users' writes are refused (in SQL and by the guest verbs), a restarted replica still replicates,
// detach makes it writable and deaf to the source, cleanup drops the account; a replica whose
// source refuses its password fails its prepare ('failed to spawn'). No password in any log line.
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { guestContract } from '../../../src/rpc/contracts/guest.js';
import { call, GuestAgents, restoreFrom, until, type GuestArgs, type Master, type StoredBackup, type TestAgent } from '../../../test/helpers/guest-agents.js';
import { InvalidValueError, NotSupportedError, type Engine } from '../../capabilities.js';
import { mariadbEngine } from '../mariadb/manager.js';
import { mysqlEngine } from '../mysql/manager.js';
import { replicationHandlers } from '../../replication-handlers.js';
import { replicationUserFor } from './replication.js';

const SOURCE_ID = '0b7c3f52-5d0e-4c41-9c55-0a7d2c1f0001';
const REPLICA_ID = '0b7c3f52-5d0e-4c41-9c55-0a7d2c1f0002';
const APP = { user: 'app', password: 'app-Secret-1', database: 'shop' };

const agents = new GuestAgents({ prefix: 'mysql-replication-', section: 'mariadb', build: mariadbEngine });
const { log, logged, passwords } = agents;
type Agent = TestAgent;

const prepareArgs = (extra: Partial<GuestArgs<'prepare'>> = {}): GuestArgs<'prepare'> => ({
  memory_mb: 256,
  databases: [{ _name: 'shop' }],
  users: [{ _name: 'app', _host: '%', _password: APP.password, _databases: [{ _name: 'shop' }] }],
  ...extra,
});

async function sql<T = Array<Record<string, unknown>>>(
  port: number,
  query: string,
  params: unknown[] = [],
  who: { user: string; password: string; database?: string } = APP,
): Promise<T> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port, ...who });
  try {
    return (await c.query(query, params))[0] as T;
  } finally {
    await c.end();
  }
}

/** As the agent's own admin (over its socket): what the server really holds. */
async function admin<T = Array<Record<string, unknown>>>(e: Engine, query: string, params: unknown[] = []): Promise<T> {
  const lc = e.lifecycle as unknown as { admin: { connect(): Promise<mysql.Connection> } };
  const c = await lc.admin.connect();
  try {
    return (await c.query(query, params))[0] as T;
  } finally {
    await c.end();
  }
}

const count = async (port: number) => Number((await sql<Array<{ n: number }>>(port, 'SELECT COUNT(*) AS n FROM orders'))[0]!.n);

async function insert(port: number, from: number, n: number): Promise<void> {
  const rows = Array.from({ length: n }, (_, i) => [from + i, `item-${from + i}`]);
  await sql(port, 'INSERT INTO orders VALUES ?', [rows]);
}

let source: Agent;
let replica: Agent;
let snapshot: Master;
let backup: StoredBackup;

test.before(async () => {
  agents.open();
  source = await agents.agent('source', SOURCE_ID);
  await call(source, 'prepare', prepareArgs());
  await sql(source.port, 'CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(40)) ENGINE=InnoDB');
  await insert(source.port, 0, 500);
});

test.after.always(() => agents.close());

test.serial('source: get_replication_snapshot makes a hidden REPLICATION SLAVE account, a new password each time', async (t) => {
  const first = await agents.snapshotFor(source, REPLICA_ID);
  snapshot = await agents.snapshotFor(source, REPLICA_ID);
  t.is(snapshot.port, source.port);
  t.is(snapshot.user, replicationUserFor(REPLICA_ID));
  t.regex(snapshot.user, /^repl_[0-9a-f]{8}$/);
  t.true(snapshot.password.length >= 20);
  t.not(first.password, snapshot.password);
  const repl = { user: snapshot.user, password: snapshot.password };
  const grants = await sql<Array<Record<string, string>>>(source.port, 'SHOW GRANTS', [], repl);
  t.regex(Object.values(grants[0]!)[0]!, /GRANT REPLICATION SLAVE.* ON \*\.\* TO `repl_[0-9a-f]{8}`@`%`/);
  await t.throwsAsync(sql(source.port, 'SELECT 1', [], { ...repl, password: first.password }), { message: /Access denied/ });
  // the agent's account: not in the user verbs, its name reserved
  const [users] = (await call(source, 'list_users')) as [Array<{ _name: string }>, unknown];
  t.deepEqual(
    users.map((u) => u._name),
    ['app'],
  );
  t.is(await call(source, 'get_user', { username: repl.user, hostname: '%' }), null);
  await t.throwsAsync(call(source, 'create_user', { users: [{ _name: repl.user, _password: 'x-Secret-1' }] }), {
    instanceOf: InvalidValueError,
    message: /reserved/,
  });
  // made outside the binary log: no password in what is archived
  const events = await admin<Array<{ Info: string }>>(source.engine, 'SHOW BINLOG EVENTS');
  t.false(events.some((e) => e.Info.includes(repl.user)));
});

test.serial("replica: prepared from the source's backup with snapshot.master, it has the rows, replicates and is read-only for users", async (t) => {
  backup = await agents.backupOf(source, 'snap-1');
  await insert(source.port, 500, 100); // written after the backup: replication brings them
  replica = await agents.agent('replica', REPLICA_ID);
  const started = Date.now();
  await call(replica, 'prepare', prepareArgs({ ...restoreFrom('snap-1', backup), snapshot: { master: snapshot } }));
  t.log(`replica prepare: ${Date.now() - started} ms`);
  t.is(replica.beats.at(-1), 'healthy');
  await until('the rows written after the backup', async () => (await count(replica.port)) === 600);
  const [status] = await admin<Array<Record<string, string>>>(replica.engine, 'SHOW SLAVE STATUS');
  t.is(status?.Slave_IO_Running, 'Yes');
  t.is(status?.Slave_SQL_Running, 'Yes');
  t.is(Number(status?.Master_Port), source.port);
  t.is(status?.Using_Gtid, 'Slave_Pos');
  const [ids] = await admin<Array<{ s: number; ro: number; fmt: string }>>(
    replica.engine,
    'SELECT @@server_id AS s, @@read_only AS ro, @@binlog_format AS fmt',
  );
  const [sourceIds] = await admin<Array<{ s: number; ro: number }>>(source.engine, 'SELECT @@server_id AS s, @@read_only AS ro');
  t.not(ids!.s, sourceIds!.s);
  t.is(ids!.ro, 1);
  t.is(sourceIds!.ro, 0);
  t.is(ids!.fmt, 'ROW');
  t.deepEqual(await admin(replica.engine, "SELECT User FROM mysql.user WHERE User LIKE 'repl\\_%'"), [], "the source's replication accounts are not restored");

  // new rows and a new user on the source arrive
  await insert(source.port, 600, 50);
  await call(source, 'create_user', { users: [{ _name: 'reporting', _host: '%', _password: 'rep-Secret-1', _databases: [{ _name: 'shop' }] }] });
  await until('the new rows', async () => (await count(replica.port)) === 650);
  await until('the new user', async () =>
    sql(replica.port, 'SELECT 1', [], { user: 'reporting', password: 'rep-Secret-1', database: 'shop' }).then(
      () => true,
      () => false,
    ),
  );
  const [users] = (await call(replica, 'list_users')) as [Array<{ _name: string }>, unknown];
  t.deepEqual(users.map((u) => u._name).sort(), ['app', 'reporting']);

  // users' writes are refused, in SQL and by the guest's verbs
  await t.throwsAsync(sql(replica.port, "INSERT INTO orders VALUES (9999, 'on the replica')"), { message: /read-only|--read-only/ });
  await t.throwsAsync(call(replica, 'create_user', { users: [{ _name: 'other', _password: 'o-Secret-1' }] }), {
    instanceOf: InvalidValueError,
    message: /read-only replica/,
  });
  await t.throwsAsync(call(replica, 'create_database', { databases: [{ _name: 'more' }] }), {
    instanceOf: InvalidValueError,
    message: /read-only replica/,
  });
  await t.throwsAsync(call(replica, 'enable_root'), { instanceOf: InvalidValueError });
  t.false((await admin<Array<{ u: string }>>(replica.engine, "SELECT User AS u FROM mysql.user WHERE User IN ('other', 'root') AND Host = '%'")).length > 0);
  // read-only verbs still answer
  const [dbs] = (await call(replica, 'list_databases')) as [Array<{ _name: string }>, unknown];
  t.deepEqual(
    dbs.map((d) => d._name),
    ['shop'],
  );
});

test.serial('replica: after a restart it is still read-only and replicating', async (t) => {
  await call(replica, 'restart');
  t.is(replica.beats.at(-1), 'healthy');
  const [ro] = await admin<Array<{ ro: number }>>(replica.engine, 'SELECT @@read_only AS ro');
  t.is(ro!.ro, 1);
  await insert(source.port, 650, 25);
  await until('rows written after the restart', async () => (await count(replica.port)) === 675);
  // a full volume getting room again does not make a replica writable
  await replica.engine.lifecycle.setReadOnly(false);
  const [still] = await admin<Array<{ ro: number }>>(replica.engine, 'SELECT @@read_only AS ro');
  t.is(still!.ro, 1);
});

test.serial('a backup of the replica restores as a standalone, writable instance with its data', async (t) => {
  const copy = await agents.backupOf(replica, 'replica-backup');
  const restored = await agents.agent('from-replica', '0b7c3f52-5d0e-4c41-9c55-0a7d2c1f0004');
  await call(restored, 'prepare', prepareArgs(restoreFrom('replica-backup', copy)));
  t.is(await count(restored.port), 675);
  t.deepEqual(await admin(restored.engine, 'SHOW SLAVE STATUS'), []);
  const [ro] = await admin<Array<{ ro: number }>>(restored.engine, 'SELECT @@read_only AS ro');
  t.is(ro!.ro, 0);
  await sql(restored.port, "INSERT INTO orders VALUES (20000, 'on the copy')");
  await restored.engine.lifecycle.stop();
});

test.serial("detach_replica: writable, keeps its data, no longer receives the source's rows; twice is fine", async (t) => {
  await call(replica, 'detach_replica');
  await call(replica, 'detach_replica', { for_failover: false });
  t.deepEqual(await admin(replica.engine, 'SHOW SLAVE STATUS'), []);
  const [ro] = await admin<Array<{ ro: number }>>(replica.engine, 'SELECT @@read_only AS ro');
  t.is(ro!.ro, 0);
  t.is(await count(replica.port), 675);
  await sql(replica.port, "INSERT INTO orders VALUES (9999, 'on the detached replica')");
  await call(replica, 'create_user', { users: [{ _name: 'local', _host: '%', _password: 'l-Secret-1', _databases: [] }] });
  // the source's replication accounts, inherited with its backup, are gone
  t.deepEqual(await admin(replica.engine, "SELECT User FROM mysql.user WHERE User LIKE 'repl\\_%'"), []);
  await insert(source.port, 675, 10);
  await new Promise((r) => setTimeout(r, 1500));
  t.is(await count(source.port), 685);
  t.is(await count(replica.port), 676, "the source's new rows did not arrive");
  // and it stays writable after a restart (read_only is out of my.cnf)
  await call(replica, 'restart');
  await sql(replica.port, "INSERT INTO orders VALUES (10000, 'after the restart')");
  t.deepEqual(await admin(replica.engine, 'SHOW SLAVE STATUS'), []);
});

test.serial('cleanup_source_on_replica_detach: the account is dropped on the source; gone already is fine', async (t) => {
  for (let i = 0; i < 2; i++) await call(source, 'cleanup_source_on_replica_detach', { replica_info: { replica_id: REPLICA_ID } });
  t.deepEqual(await admin(source.engine, 'SELECT User FROM mysql.user WHERE User = ?', [snapshot.user]), []);
  await t.throwsAsync(sql(source.port, 'SELECT 1', [], { user: snapshot.user, password: snapshot.password }), {
    message: /Access denied/,
  });
});

test.serial('a replica its source refuses fails its prepare within replica_attach_timeout, and reports failed to spawn', async (t) => {
  const other = '0b7c3f52-5d0e-4c41-9c55-0a7d2c1f0003';
  const snap = await agents.snapshotFor(source, other);
  const bad = await agents.agent('bad-replica', other, { replica_attach_timeout: '5' });
  const wrong = 'not-the-Password-1';
  passwords.push(wrong);
  const started = Date.now();
  await t.throwsAsync(call(bad, 'prepare', prepareArgs({ ...restoreFrom('snap-1', backup), snapshot: { master: { ...snap, password: wrong } } })), {
    message: /replication from 127\.0\.0\.1:\d+ did not start within 5 s \(IO thread Connecting, SQL thread Yes: .*Access denied/,
  });
  t.log(`failed prepare: ${Date.now() - started} ms`);
  t.is(bad.beats.at(-1), 'failed to spawn');
  t.is(await bad.engine.lifecycle.health(), 'shutdown');
  await call(source, 'cleanup_source_on_replica_detach', { replica_info: { replica_id: other } });
});

test.serial('the mysql engine (logical backups: no GTID position to start a replica from) refuses get_replication_snapshot up front', async (t) => {
  const raw = {
    DEFAULT: { guest_id: SOURCE_ID },
    mysql: { mount_point: path.join(agents.root, 'source', 'volume'), port: String(source.port), bind_host: '127.0.0.1' },
  };
  const h = replicationHandlers(mysqlEngine(raw, source.stateDir, log), log);
  await t.throwsAsync(
    h.get_replication_snapshot(guestContract.get_replication_snapshot.args.parse({ snapshot_info: { replica_id: 'r-mysql' } }), {
      context: {},
      method: 'get_replication_snapshot',
    }),
    {
      instanceOf: NotSupportedError,
      message: /logical backups only/,
    },
  );
  t.deepEqual(await admin(source.engine, 'SELECT User FROM mysql.user WHERE User = ?', [replicationUserFor('r-mysql')]), []);
});

test.serial("a configuration group cannot change a server's server_id (my.cnf pins it; apply_overrides skips it)", async (t) => {
  const [before] = await admin<Array<{ s: number }>>(source.engine, 'SELECT @@server_id AS s');
  await source.engine.configuration!.updateOverrides({ server_id: 5, max_connections: 77 }, false);
  await source.engine.configuration!.applyOverrides({ server_id: 5, max_connections: 77 });
  const [after] = await admin<Array<{ s: number; mc: number }>>(source.engine, 'SELECT @@server_id AS s, @@max_connections AS mc');
  t.is(after!.mc, 77);
  t.is(after!.s, before!.s);
  t.is((await source.engine.configuration!.effectiveSettings()).server_id, before!.s);
  await call(source, 'restart');
  const [restarted] = await admin<Array<{ s: number }>>(source.engine, 'SELECT @@server_id AS s');
  t.is(restarted!.s, before!.s);
  await source.engine.configuration!.updateOverrides({}, true);
});

test.serial('no replication password in any log line of either agent', (t) => {
  t.true(logged.length > 10);
  t.true(logged.some((l) => l.includes('replica replicating from its source')));
  for (const pw of passwords)
    t.false(
      logged.some((l) => l.includes(pw)),
      'a replication password was logged',
    );
  t.false(readFileSync(path.join(replica.stateDir, 'my.cnf'), 'utf8').includes('read_only'));
});
