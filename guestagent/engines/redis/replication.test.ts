// Replication between two real redis-server in temp dirs, through the guest's own handlers: the
// source is prepared and written to, get_replication_snapshot makes an ACL user that can only
// replicate, an RDB backup goes through create_backup into the local store, and the replica is
// prepared from it with snapshot.master as the taskmanager does. Then: the keys are there, new ones
// arrive, users' writes are refused (READONLY), a restarted replica still replicates; wait_for_txn
// answers at once for a position it has and fails within its timeout for one that never comes; a
// switchover (make_read_only, wait_for_txn, detach + enable_as_master, attach_replica of the old
// source) loses nothing and new keys flow the other way; detach makes a member writable and deaf
// to its source; cleanup drops the account; a replica its source refuses fails its prepare. No
// password in any log line.
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import {
  call,
  GuestAgents,
  lastTxn as txnOf,
  restoreFrom,
  until as waitUntil,
  waitForTxn,
  type GuestArgs,
  type Master,
  type StoredBackup,
  type TestAgent,
} from '../../../test/helpers/guest-agents.js';
import { withRedis } from '../../../test/helpers/redis-client.js';
import { InvalidValueError } from '../../capabilities.js';
import { redisEngine } from './manager.js';
import type { RedisLifecycle } from './lifecycle.js';
import { hasTxn, parseTxn, replicationUserFor } from './replication.js';

const SOURCE_ID = '5e1d7c52-5d0e-4c41-9c55-0a7d2c1f0001';
const REPLICA_ID = '5e1d7c52-5d0e-4c41-9c55-0a7d2c1f0002';
const SOURCE_ROOT = 'source-Root-pw-1';
const REPLICA_ROOT = 'replica-Root-pw-1';

const agents = new GuestAgents<RedisLifecycle>({ prefix: 'redis-replication-', section: 'redis', build: redisEngine });
const { logged, passwords } = agents;

/** An agent and the root password the test reaches its server with. */
type Agent = TestAgent<RedisLifecycle> & { rootPw: string };
const agent = async (name: string, instanceId: string, rootPw: string, extra: Record<string, string> = {}): Promise<Agent> =>
  Object.assign(await agents.agent(name, instanceId, extra), { rootPw });

// no 5 s wait before each full sync in a test (Redis's repl-diskless-sync-delay)
const prepareArgs = (rootPw: string, extra: Partial<GuestArgs<'prepare'>> = {}): GuestArgs<'prepare'> => ({
  memory_mb: 256,
  databases: [],
  users: [],
  root_password: rootPw,
  overrides: { 'repl-diskless-sync-delay': 0 },
  ...extra,
});

const client = <T>(port: number, who: { username?: string; password: string }, fn: (r: Redis) => Promise<T>): Promise<T> => withRedis({ port, ...who }, fn);

const as = <T>(a: Agent, fn: (r: Redis) => Promise<T>) => client(a.port, { password: a.rootPw }, fn);
const get = (a: Agent, key: string) => as(a, (r) => r.get(key));
const info = (a: Agent) => a.lc.admin.run(async (r) => String(await r.info('replication')));

/** Root on a member (source or replica, before and after a switchover or restart): nothing that reaches past the instance or takes replication from the agent (NOPERM). */
async function rootIsBounded(t: ExecutionContext, a: Agent, other: Agent | undefined, what: string): Promise<void> {
  const refused = [
    ['CONFIG', 'SET', 'dir', '/tmp'],
    ['CONFIG', 'SET', 'dbfilename', 'x.rdb'],
    ['CONFIG', 'REWRITE'],
    ['MODULE', 'LIST'],
    ['REPLICAOF', '127.0.0.1', String(other?.port ?? 1)],
    ['SLAVEOF', 'NO', 'ONE'],
    ['MIGRATE', '169.254.169.254', '80', 'k:1', '0', '1000'],
    ['SYNC'],
    ['PSYNC', '?', '-1'],
    ['FAILOVER'],
    ['SHUTDOWN', 'NOSAVE'],
    ['ACL', 'SETUSER', 'default', '+@all'],
    ['ACL', 'LIST'],
  ];
  await as(a, async (r) => {
    for (const cmd of refused)
      await t.throwsAsync(r.call(cmd[0]!, ...cmd.slice(1)), { message: /^NOPERM this user has no permissions/ }, `${what}: ${cmd.join(' ')}`);
    t.is(await r.get('k:1'), 'v1', `${what}: root reads`);
  });
  t.regex(await info(a), /connected_slaves|master_link_status/, `${what}: still up`);
}

const until = (what: string, check: () => Promise<boolean>) => waitUntil(what, check, 15_000, 100);

let source: Agent;
let replica: Agent;
let master: Master;
let backup: StoredBackup;
const backupInfo = () => restoreFrom('snap-1', backup);

test.before(async () => {
  agents.open();
  passwords.push(SOURCE_ROOT, REPLICA_ROOT);
  source = await agent('source', SOURCE_ID, SOURCE_ROOT);
  await call(source, 'prepare', prepareArgs(SOURCE_ROOT));
  await as(source, async (r) => {
    for (let i = 0; i < 200; i++) await r.set(`k:${i}`, `v${i}`);
    await r.hset('user:1', { name: 'ada', lang: 'en' });
  });
});

test.after.always(() => agents.close());

test.serial('source: get_replication_snapshot makes an ACL user that can replicate and nothing else, a new password each time', async (t) => {
  const first = await agents.snapshotFor(source, REPLICA_ID);
  master = await agents.snapshotFor(source, REPLICA_ID);
  t.is(master.port, source.port);
  t.is(master.user, replicationUserFor(REPLICA_ID));
  t.regex(master.user, /^repl_[0-9a-f]{8}$/);
  t.true(master.password.length >= 24);
  t.not(first.password, master.password);
  const repl = { username: master.user, password: master.password };
  t.is(await client(source.port, repl, (r) => r.ping()), 'PONG');
  await t.throwsAsync(
    client(source.port, repl, (r) => r.get('k:1')),
    { message: /NOPERM/ },
  );
  await t.throwsAsync(
    client(source.port, repl, (r) => r.set('x', '1')),
    { message: /NOPERM/ },
  );
  await t.throwsAsync(
    client(source.port, repl, (r) => r.call('CONFIG', 'GET', 'masterauth')),
    { message: /NOPERM/ },
  );
  await t.throwsAsync(
    client(source.port, { username: master.user, password: first.password }, (r) => r.ping()),
    { message: /WRONGPASS|Connection is closed/ },
  );
  // saved: a restarted source still has it
  t.regex(readFileSync(source.lc.paths.aclFile, 'utf8'), new RegExp(`^user ${master.user} on .*#[0-9a-f]{64} .*-@all .*\\+psync`, 'm'));
});

test.serial("replica: prepared from the source's backup with snapshot.master, it has the keys, replicates and refuses writes", async (t) => {
  backup = await agents.backupOf(source, 'snap-1');
  await as(source, (r) => r.set('after-backup', 'yes')); // replication brings it
  replica = await agent('replica', REPLICA_ID, REPLICA_ROOT);
  const started = Date.now();
  await call(replica, 'prepare', prepareArgs(REPLICA_ROOT, { ...backupInfo(), snapshot: { master } }));
  t.log(`replica prepare: ${Date.now() - started} ms`);
  t.is(replica.beats.at(-1), 'healthy');
  t.is(await get(replica, 'k:199'), 'v199');
  await until('the key written after the backup', async () => (await get(replica, 'after-backup')) === 'yes');
  t.deepEqual(await as(replica, (r) => r.hgetall('user:1')), { name: 'ada', lang: 'en' });
  t.regex(await info(replica), /role:slave/);
  t.regex(await info(replica), /master_link_status:up/);
  // in the config the server reads at every start
  t.regex(readFileSync(replica.lc.paths.replicationFile, 'utf8'), new RegExp(`^replicaof "127\\.0\\.0\\.1" "${source.port}"$`, 'm'));
  await as(source, (r) => r.set('new', '1'));
  await until('a new key', async () => (await get(replica, 'new')) === '1');
  // users' writes: Redis refuses them; nor can the clients' user leave replication
  await t.throwsAsync(
    as(replica, (r) => r.set('on-replica', '1')),
    { message: /READONLY/ },
  );
  await t.throwsAsync(
    as(replica, (r) => r.call('REPLICAOF', 'NO', 'ONE')),
    { message: /NOPERM/ },
  );
  await t.throwsAsync(
    as(replica, (r) => r.call('CONFIG', 'SET', 'replica-read-only', 'no')),
    { message: /NOPERM/ },
  );
  // root is the replica's own (Redis does not replicate its ACL): enabled there, it reads, it still cannot write or leave
  const rootOnReplica = (await call(replica, 'enable_root')) as { _password: string };
  passwords.push(rootOnReplica._password);
  t.is(await client(replica.port, { password: rootOnReplica._password }, (r) => r.get('new')), '1');
  await t.throwsAsync(
    client(replica.port, { password: rootOnReplica._password }, (r) => r.set('x', '1')),
    { message: /READONLY/ },
  );
  await t.throwsAsync(
    client(replica.port, { password: rootOnReplica._password }, (r) => r.call('REPLICAOF', 'NO', 'ONE')),
    { message: /NOPERM/ },
  );
  replica.rootPw = rootOnReplica._password;
  await rootIsBounded(t, replica, source, 'the replica');
  // nor can it read the source's replication account there (CONFIG GET masterauth)
  await t.throwsAsync(
    as(replica, (r) => r.call('CONFIG', 'GET', 'masterauth')),
    { message: /NOPERM/ },
  );
  await rootIsBounded(t, source, replica, 'the source');
  // the source's replication accounts are not restored (the ACL file is never in a backup)
  t.false(((await replica.lc.admin.run((r) => r.call('ACL', 'USERS'))) as string[]).some((u) => u.startsWith('repl_')));
  // the replica's own root password, not the source's
  await t.throwsAsync(
    client(replica.port, { password: SOURCE_ROOT }, (r) => r.ping()),
    { message: /WRONGPASS|Connection is closed/ },
  );
  await t.throwsAsync(
    client(replica.port, { password: REPLICA_ROOT }, (r) => r.ping()),
    { message: /WRONGPASS|Connection is closed/ },
  );
});

test.serial('replica: after a restart it still replicates and refuses writes', async (t) => {
  // twice: the second right after the full sync the first one brought (Redis writes its first AOF then)
  const started = Date.now();
  await call(replica, 'restart');
  await call(replica, 'restart');
  t.true(Date.now() - started < 10_000, 'a restart does not wait out the minute before SIGKILL');
  t.is(replica.beats.at(-1), 'healthy');
  await as(source, (r) => r.set('after-restart', '1'));
  await until('a key written after the restart', async () => (await get(replica, 'after-restart')) === '1');
  await t.throwsAsync(
    as(replica, (r) => r.set('on-replica', '1')),
    { message: /READONLY/ },
  );
  // a full volume getting room again does not give the clients' user REPLICAOF back
  await replica.engine.lifecycle.setReadOnly(false);
  await t.throwsAsync(
    as(replica, (r) => r.call('REPLICAOF', 'NO', 'ONE')),
    { message: /NOPERM/ },
  );
  await rootIsBounded(t, replica, source, 'the replica after restarts');
});

test.serial(
  'get_last_txn / wait_for_txn: `<replid>:<offset>`; at once for a position it has, a clear error within the timeout for one that never comes',
  async (t) => {
    await as(source, (r) => r.set('txn-key', '1'));
    const txn = await txnOf(source);
    t.regex(txn, /^[0-9a-f]{40}:\d+$/);
    let started = Date.now();
    await waitForTxn(replica, txn, 10);
    t.true(Date.now() - started < 3000);
    t.is(await get(replica, 'txn-key'), '1');
    // a position it has: answered at once even with a 1 s timeout
    started = Date.now();
    await waitForTxn(replica, await txnOf(replica), 1);
    t.true(Date.now() - started < 500);
    // the replica's position is its source's history
    t.is(parseTxn(await txnOf(replica)).replid, parseTxn(txn).replid);
    const { replid, offset } = parseTxn(txn);
    const never = `${replid}:${offset + 1_000_000n}`;
    started = Date.now();
    await t.throwsAsync(waitForTxn(replica, never, 2), {
      message: new RegExp(
        `did not reach the transaction '${never}' within 2 s: it is at '${replid}:\\d+'; it replicates from 127\\.0\\.0\\.1:${source.port}, link up`,
      ),
    });
    t.true(Date.now() - started < 4000);
    const elsewhere = `${'a'.repeat(40)}:1`;
    await t.throwsAsync(waitForTxn(replica, elsewhere, 1), { message: /did not reach the transaction/ });
    await t.throwsAsync(waitForTxn(replica, 'not-a-position', 1), { message: /not a Redis replication position/ });
    // the rule itself across a promotion (PSYNC2: the previous history is kept as replid2)
    const promoted = { master_replid: 'b'.repeat(40), master_repl_offset: '500', master_replid2: replid, second_repl_offset: '301' };
    t.true(hasTxn(promoted, { replid, offset: 300n }));
    t.false(hasTxn(promoted, { replid, offset: 301n }));
    t.true(hasTxn(promoted, { replid: 'b'.repeat(40), offset: 500n }));
  },
);

test.serial("make_read_only: the source refuses users' writes (also after a restart), the guest's root verbs too; false allows them again", async (t) => {
  for (let i = 0; i < 2; i++) await call(source, 'make_read_only', { read_only: true });
  await t.throwsAsync(
    as(source, (r) => r.set('ro', '1')),
    { message: /NOPERM/ },
  );
  await t.throwsAsync(
    as(source, (r) => r.call('ACL', 'SETUSER', 'default', '+@all')),
    { message: /NOPERM/ },
  );
  t.is(await get(source, 'k:1'), 'v1');
  await t.throwsAsync(call(source, 'disable_root'), {
    instanceOf: InvalidValueError,
    message: /read-only/,
  });
  await call(source, 'restart');
  await t.throwsAsync(
    as(source, (r) => r.set('ro', '1')),
    { message: /NOPERM/ },
  );
  for (let i = 0; i < 2; i++) await call(source, 'make_read_only', { read_only: false });
  await as(source, (r) => r.set('rw-again', '1'));
  await until('the key written after read-only', async () => (await get(replica, 'rw-again')) === '1');
});

test.serial('switchover: the source read-only, the replica catches up and becomes the source, the old source follows it; new keys flow to it', async (t) => {
  const txn = await agents.switchover(source, replica, { twice: true });
  await call(replica, 'make_read_only', { read_only: false });
  t.regex(await info(replica), /role:master/);
  // the new source still has the old source's last position (PSYNC2's replid2)
  await waitForTxn(replica, txn, 1);
  await as(replica, (r) => r.set('on-new-source', '1'));
  await call(source, 'cleanup_source_on_replica_detach', { replica_info: { replica_id: REPLICA_ID } });
  await agents.attach(source, replica);
  t.regex(await info(source), /role:slave/);
  t.false(await source.engine.replication!.isReadOnly());
  await until("the new source's key on the old source", async () => (await get(source, 'on-new-source')) === '1');
  await as(replica, (r) => r.set('after-switch', '1'));
  await until('a key written after the switch', async () => (await get(source, 'after-switch')) === '1');
  t.is(await get(source, 'k:199'), 'v199');
  await t.throwsAsync(
    as(source, (r) => r.set('x', '1')),
    { message: /READONLY/ },
  );
  await waitForTxn(source, await txnOf(replica), 10);
  t.false(
    ((await source.lc.admin.run((r) => r.call('ACL', 'USERS'))) as string[]).some((u) => u.startsWith('repl_')),
    'a member that follows keeps no replication account',
  );
  // root's limits on both sides of the switch: the promoted member's root and the one that now follows
  await rootIsBounded(t, replica, source, 'the promoted replica');
  await rootIsBounded(t, source, replica, 'the old source, now a replica');
});

test.serial("detach_replica: writable, keeps its data, no longer receives the source's keys, also after a restart; twice is fine", async (t) => {
  // the old source, now the replica of the former replica
  await call(source, 'detach_replica');
  await call(source, 'detach_replica', { for_failover: false });
  t.regex(await info(source), /role:master/);
  t.is(await get(source, 'after-switch'), '1');
  await as(source, (r) => r.set('detached', '1'));
  await as(replica, (r) => r.set('not-for-the-detached', '1'));
  await new Promise((r) => setTimeout(r, 1000));
  t.is(await get(source, 'not-for-the-detached'), null);
  t.false(/replicaof/.test(readFileSync(source.lc.paths.replicationFile, 'utf8')));
  await call(source, 'restart');
  t.regex(await info(source), /role:master/);
  await as(source, (r) => r.set('after-restart-detached', '1'));
  await as(source, (r) => r.call('CONFIG', 'GET', 'maxmemory')); // admin commands are the clients' again
});

test.serial('cleanup_source_on_replica_detach: the ACL user is dropped (and saved); gone already is fine', async (t) => {
  for (let i = 0; i < 2; i++) await call(replica, 'cleanup_source_on_replica_detach', { replica_info: { replica_id: SOURCE_ID } });
  const name = replicationUserFor(SOURCE_ID);
  t.false(((await replica.lc.admin.run((r) => r.call('ACL', 'USERS'))) as string[]).includes(name));
  t.false(readFileSync(replica.lc.paths.aclFile, 'utf8').includes(name));
});

test.serial('a replica its source refuses fails its prepare within replica_attach_timeout, saying why, and reports failed to spawn', async (t) => {
  const other = '5e1d7c52-5d0e-4c41-9c55-0a7d2c1f0003';
  const snap = await agents.snapshotFor(replica, other);
  const bad = await agent('bad-replica', other, REPLICA_ROOT, { replica_attach_timeout: '2' });
  const wrong = 'not-the-Password-1';
  passwords.push(wrong);
  const err = await t.throwsAsync(call(bad, 'prepare', prepareArgs(REPLICA_ROOT, { ...backupInfo(), snapshot: { master: { ...snap, password: wrong } } })), {
    message: /replication from 127\.0\.0\.1:\d+ did not start within 2 s \(role slave, link down\); the server says: .*(AUTH|WRONGPASS)/,
  });
  t.log(err?.message);
  t.is(bad.beats.at(-1), 'failed to spawn');
  t.is(await bad.engine.lifecycle.health(), 'shutdown');
});

test.serial("no password in any log line, the agent's or the servers'", (t) => {
  t.true(logged.some((l) => l.includes('replica replicating from its source')));
  const serverLogs = ['source', 'replica', 'bad-replica'].map((n) => readFileSync(path.join(agents.named(n).stateDir, 'redis.log'), 'utf8'));
  for (const pw of passwords) {
    t.false(
      logged.some((l) => l.includes(pw)),
      'a password was logged by the agent',
    );
    t.false(
      serverLogs.some((l) => l.includes(pw)),
      'a password is in a server log',
    );
  }
});
