// Streaming replication between two real PostgreSQL servers in temp dirs, through the guest's own
// handlers: the source is prepared and written to, get_replication_snapshot makes a replication
// role (not superuser, not listed) and a slot, a pg_basebackup goes through create_backup into the
// local store, and the replica is prepared from it with snapshot.master as the taskmanager does
// (restore, pg_rewind of what the restored copy wrote itself, standby). Then: rows written after
// the backup arrive, a user's write on the replica is refused, a restart keeps streaming;
// wait_for_txn answers at once / times out clearly; a switchover (make_read_only, wait_for_txn,
// detach + enable_as_master, attach_replica of the old source: pg_rewind) loses nothing and rows
// flow the other way; detach makes a member writable and independent; cleanup drops the role.
// No password in any log line (the agent's and both servers').
import test from 'ava';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import {
  call,
  GuestAgents,
  lastTxn as txnOf,
  promote,
  restoreFrom,
  until as waitUntil,
  waitForTxn,
  type GuestArgs,
  type StoredBackup,
  type TestAgent,
} from '../../../test/helpers/guest-agents.js';
import { guestContract } from '../../../src/rpc/contracts/guest.js';
import { InvalidValueError } from '../../capabilities.js';
import { findBinDir } from './detect.js';
import { postgresqlEngine } from './manager.js';
import type { PgLifecycle } from './lifecycle.js';
import { hasTxn, parseHistory, parseTxn, replicationUserFor } from './replication.js';

const SOURCE_ID = '7a1d7c52-5d0e-4c41-9c55-0a7d2c1f0001';
const REPLICA_ID = '7a1d7c52-5d0e-4c41-9c55-0a7d2c1f0002';
const REPLICA2_ID = '7a1d7c52-5d0e-4c41-9c55-0a7d2c1f0003';
const APP_PW = 'app-Secret-pw-1';

const agents = new GuestAgents<PgLifecycle>({
  prefix: 'postgresql-replication-',
  section: 'postgresql',
  build: postgresqlEngine,
  defaults: { replica_attach_timeout: '20' },
});
const { logged, passwords } = agents;
passwords.push(APP_PW);
type Agent = TestAgent<PgLifecycle>;

const prepareArgs = (extra: Partial<GuestArgs<'prepare'>> = {}): GuestArgs<'prepare'> => ({
  memory_mb: 256,
  databases: [{ _name: 'shop' }],
  users: [{ _name: 'app', _password: APP_PW, _databases: [{ _name: 'shop' }] }],
  ...extra,
});

async function query<T extends pg.QueryResultRow>(a: Agent, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ host: '127.0.0.1', port: a.port, user: 'app', password: APP_PW, database: 'shop', connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end().catch(() => undefined);
  }
}
const count = async (a: Agent) => (await query<{ n: number }>(a, 'SELECT count(*)::int AS n FROM items'))[0]!.n;
const until = (what: string, check: () => Promise<boolean>, ms = 20_000) => waitUntil(what, check, ms, 100);

let source: Agent;
let replica: Agent;
let replica2: Agent;
let backup: StoredBackup;

if (!findBinDir()) {
  if (process.env.TROVE_TEST_SKIP_ENGINES) test.skip('PostgreSQL replication (not installed; TROVE_TEST_SKIP_ENGINES is set)', () => undefined);
  else test('PostgreSQL is installed', (t) => t.fail('no /usr/lib/postgresql/<version>/bin/postgres: install postgresql, or set TROVE_TEST_SKIP_ENGINES=1'));
} else {
  test.before(async () => {
    agents.open();
    source = await agents.agent('source', SOURCE_ID);
    await call(source, 'prepare', prepareArgs());
    await query(source, 'CREATE TABLE items (id INT PRIMARY KEY, body TEXT)');
    await query(source, "INSERT INTO items SELECT i, 'row ' || i FROM generate_series(1, 1000) i");
  });

  test.after.always(() => agents.close());

  test('txn positions: same timeline by LSN, an ancestor timeline up to where the history left it', (t) => {
    t.deepEqual(parseTxn('1:0/3000060'), { timeline: 1, lsn: 0x3000060n });
    t.throws(() => parseTxn('0-1-5'), { message: /<timeline>:<LSN>/ });
    const history = parseHistory('1\t0/5000000\tno recovery target specified\n');
    const p = { timeline: 2, lsn: '0/6000000', history };
    t.true(hasTxn(p, parseTxn('2:0/5FFFFFF')));
    t.false(hasTxn(p, parseTxn('2:0/6000001')));
    t.true(hasTxn(p, parseTxn('1:0/5000000')));
    t.false(hasTxn(p, parseTxn('1:0/5000001')), 'what the old timeline wrote after the fork is not held');
    t.false(hasTxn(p, parseTxn('3:0/1')));
  });

  test.serial('source: a replication role per replica (not superuser, not listed) and a slot; a new password each time', async (t) => {
    const first = await agents.snapshotFor(source, REPLICA_ID);
    const second = await agents.snapshotFor(source, REPLICA_ID);
    t.is(second.user, replicationUserFor(REPLICA_ID));
    t.regex(second.user, /^repl_[0-9a-f]{8}$/);
    t.not(first.password, second.password);
    const role = await source.lc.admin.run(
      async (c) => (await c.query('SELECT rolsuper, rolreplication, rolcanlogin, rolcreaterole FROM pg_roles WHERE rolname = $1', [second.user])).rows[0],
    );
    t.deepEqual(role, { rolsuper: false, rolreplication: true, rolcanlogin: true, rolcreaterole: false });
    const slots = await source.lc.admin.run(async (c) => (await c.query('SELECT slot_name FROM pg_replication_slots')).rows.map((r) => r.slot_name));
    t.deepEqual(slots, [second.user]);
    const users = guestContract.list_users.result.parse(await call(source, 'list_users'));
    t.deepEqual(
      users[0].map((u) => u._name),
      ['app'],
    );
    await t.throwsAsync(source.lc.admin.createUsers([{ name: second.user, host: '%', password: 'x-Secret-1', databases: [] }]), {
      instanceOf: InvalidValueError,
    });
  });

  test.serial(
    "replica: prepared from the source's backup with snapshot.master; rows after the backup arrive; users' writes refused; a restart keeps streaming",
    async (t) => {
      const master = await agents.snapshotFor(source, REPLICA_ID);
      backup = await agents.backupOf(source, 'snap-1');
      await query(source, "INSERT INTO items SELECT i, 'after ' || i FROM generate_series(1001, 1100) i");
      replica = await agents.agent('replica', REPLICA_ID);
      await call(
        replica,
        'prepare',
        prepareArgs({
          overrides: { work_mem: '6MB' },
          ...restoreFrom('snap-1', backup),
          snapshot: { master },
        }),
      );
      t.is((await replica.lc.admin.run((c) => c.query<{ work_mem: string }>('SHOW work_mem'))).rows[0]!.work_mem, '6MB', 'its own configuration group');
      t.true(await replica.engine.replication!.isReplica());
      await until('the rows written after the backup', async () => (await count(replica)) === 1100);
      await query(source, "INSERT INTO items VALUES (1101, 'live')");
      await until('a new row', async () => (await count(replica)) === 1101);
      const err = await t.throwsAsync(query(replica, "INSERT INTO items VALUES (5000, 'no')"));
      t.regex(err!.message, /read-only transaction/);
      await t.throwsAsync(call(replica, 'create_database', { databases: [{ _name: 'x' }] }), {
        instanceOf: InvalidValueError,
        message: /read-only replica/,
      });
      const conf = path.join(replica.lc.paths.dataDir, 'conf.d', 'trove-replication.conf');
      t.is(statSync(conf).mode & 0o777, 0o600);
      t.false(readFileSync(conf, 'utf8').includes(master.password), 'the conninfo names a passfile, not the password');
      t.is(statSync(replica.lc.paths.replicationPassfile).mode & 0o777, 0o600);
      t.is(
        readFileSync(path.join(replica.lc.paths.dataDir, 'postgresql.conf'), 'utf8').match(/^port = '(\d+)'/m)?.[1],
        String(replica.port),
        'the replica keeps its own configuration',
      );

      await replica.engine.lifecycle.restart();
      await query(source, "INSERT INTO items VALUES (1102, 'after restart')");
      await until('a row after the restart', async () => (await count(replica)) === 1102);

      // wait_for_txn: at once for a position it has; a clear error for one it never gets
      const txn = await txnOf(source);
      t.regex(txn, /^1:[0-9A-F]+\/[0-9A-F]+$/);
      await waitForTxn(replica, txn, 10);
      const started = Date.now();
      await t.throwsAsync(waitForTxn(replica, '1:FF/0', 1), { message: /did not reach the transaction '1:FF\/0' within 1 s: it is at '1:/ });
      t.true(Date.now() - started < 5000);
    },
  );

  test.serial('a replica its source refuses (a wrong password) fails its prepare, saying why, without the password; the engine stopped', async (t) => {
    const master = { host: '127.0.0.1', port: source.port, user: replicationUserFor(REPLICA_ID), password: 'wrong-Secret-pw-9' };
    passwords.push(master.password);
    const bad = await agents.agent('bad-replica', '7a1d7c52-5d0e-4c41-9c55-0a7d2c1f0009', { replica_attach_timeout: '3' });
    const err = await t.throwsAsync(
      call(
        bad,
        'prepare',
        prepareArgs({
          ...restoreFrom('snap-1', backup),
          snapshot: { master },
        }),
      ),
    );
    t.regex(err!.message, /pg_rewind against 127\.0\.0\.1:\d+ failed: .*password authentication failed/);
    t.false(err!.message.includes(master.password));
    t.is(await bad.engine.lifecycle.health(), 'shutdown');
  });

  test.serial(
    "a replica that cannot stream (its slot gone on the source) fails its prepare within replica_attach_timeout, with the server's reason",
    async (t) => {
      const id = '7a1d7c52-5d0e-4c41-9c55-0a7d2c1f0008';
      const master = await agents.snapshotFor(source, id);
      await source.lc.admin.run((c) => c.query('SELECT pg_drop_replication_slot($1)', [master.user]));
      const bad = await agents.agent('no-slot-replica', id, { replica_attach_timeout: '3' });
      const started = Date.now();
      const err = await t.throwsAsync(
        call(
          bad,
          'prepare',
          prepareArgs({
            ...restoreFrom('snap-1', backup),
            snapshot: { master },
          }),
        ),
      );
      t.regex(
        err!.message,
        // streaming never starts; or, on a loaded machine, the standby never becomes consistent and its start times out
        /replication from 127\.0\.0\.1:\d+ (did not start within 3 s \(.*\)|could not start: .*); the server says: .*replication slot "repl_[0-9a-f]{8}" does not exist/,
      );
      t.true(Date.now() - started < 60_000);
      await source.engine.replication!.removeReplica(id);
    },
  );

  test.serial('a second replica of the source', async (t) => {
    [replica2] = (await agents.addReplicas(source, [{ name: 'replica2', id: REPLICA2_ID }], { backupId: 'snap-2', prepareArgs })) as [Agent];
    await until('the rows on the second replica', async () => (await count(replica2)) === (await count(source)));
    t.pass();
  });

  test.serial(
    'switchover: make_read_only, wait_for_txn, detach + enable_as_master; the old source attaches with pg_rewind; rows flow the other way',
    async (t) => {
      await call(source, 'make_read_only', { read_only: true });
      await t.throwsAsync(query(source, "INSERT INTO items VALUES (2000, 'stopped')"), { message: /pg_hba|rejects|no pg_hba/ });
      const txn = await txnOf(source);
      await waitForTxn(replica, txn, 20);
      await promote(replica);
      t.false(await replica.engine.replication!.isReplica());
      await query(replica, "INSERT INTO items VALUES (1103, 'on the new source')");
      const newTxn = await txnOf(replica);
      t.regex(newTxn, /^2:/, 'the promotion started a new timeline');
      // the new source holds the old source's last position (its timeline-1 history reaches it)
      await waitForTxn(replica, txn, 1);

      await agents.attach(source, replica);
      t.true(await source.engine.replication!.isReplica());
      t.false(await source.engine.replication!.isReadOnly());
      await until("the new source's row on the old one", async () => (await count(source)) === 1103);
      // a standby of the old source follows the new one (its timeline: latest); the taskmanager detaches it for the failover first: it stays a standby
      await call(replica2, 'detach_replica', { for_failover: true });
      t.true(await replica2.engine.replication!.isReplica());
      await agents.attach(replica2, replica);
      await query(replica, "INSERT INTO items VALUES (1104, 'flows')");
      await until('a new row on the old source', async () => (await count(source)) === 1104);
      await until('a new row on the other replica', async () => (await count(replica2)) === 1104);
      t.regex(await txnOf(replica2), /^2:/);
      await waitForTxn(source, await txnOf(replica), 10);
      await t.throwsAsync(query(source, "INSERT INTO items VALUES (5001, 'no')"), { message: /read-only transaction/ });
    },
  );

  test.serial('detach: writable and independent; cleanup drops the role and its slot', async (t) => {
    await call(source, 'detach_replica');
    t.false(await source.engine.replication!.isReplica());
    await query(source, "INSERT INTO items VALUES (3000, 'own')");
    await query(replica, "INSERT INTO items VALUES (1105, 'not replicated')");
    await new Promise((r) => setTimeout(r, 1000));
    t.is((await query(source, 'SELECT count(*)::int AS n FROM items WHERE id = 1105'))[0]!.n, 0);
    t.false(existsSync(path.join(source.lc.paths.dataDir, 'standby.signal')));
    // detaching again changes nothing
    await call(source, 'detach_replica');
    await call(replica, 'cleanup_source_on_replica_detach', { replica_info: { replica_id: SOURCE_ID } });
    await call(replica2, 'detach_replica');
    await call(replica, 'cleanup_source_on_replica_detach', { replica_info: { replica_id: REPLICA2_ID } });
    const left = await replica.lc.admin.run(async (c) => ({
      roles: (await c.query("SELECT rolname FROM pg_roles WHERE rolname ~ '^repl_'")).rows.length,
      slots: (await c.query('SELECT slot_name FROM pg_replication_slots')).rows.length,
    }));
    t.deepEqual(left, { roles: 0, slots: 0 });
  });

  test.serial("no password in the agent's log or the servers' logs", (t) => {
    const files: string[] = [];
    for (const a of [source, replica, replica2]) {
      files.push(a.lc.paths.logFile);
      if (existsSync(a.lc.paths.logDir)) for (const f of readdirSync(a.lc.paths.logDir)) files.push(path.join(a.lc.paths.logDir, f));
    }
    const texts = [logged.join(''), ...files.filter((f) => existsSync(f)).map((f) => readFileSync(f, 'utf8'))];
    for (const pw of passwords) for (const text of texts) t.false(text.includes(pw), 'a password in a log');
    t.true(logged.some((l) => l.includes('streaming from the replication source')));
  });
}
