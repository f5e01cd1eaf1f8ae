// In-place upgrades of real redis-servers through the guest's own handlers: a source and its
// replica made on Debian bullseye's Redis 6.0 (the side-by-side build tools/lab/engine-versions.sh
// unpacks) move to the installed 7.0, the replica first (an older source, a newer replica: Redis
// replicates so), every key kept and replication running both before and after the source's turn.
// A version with no build here and a build that cannot start both leave the server running 6.0
// with its keys, its redis.conf and ACL file as they were, and say why in the server's words.
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { call, GuestAgents, restoreFrom, until, type GuestArgs } from '../../../test/helpers/guest-agents.js';
import { engineBuild, failingBuild } from '../../../test/helpers/engine-versions.js';
import { withRedis } from '../../../test/helpers/redis-client.js';
import { redisServerVersion } from './binaries.js';
import type { RedisLifecycle } from './lifecycle.js';
import { redisEngine } from './manager.js';

const SOURCE_ID = '6a0f3c1e-7b2d-4e51-9a10-3c5d00000001';
const REPLICA_ID = '6a0f3c1e-7b2d-4e51-9a10-3c5d00000002';
const SOURCE_ROOT = 'upgrade-Source-pw-1';
const REPLICA_ROOT = 'upgrade-Replica-pw-1';
const KEYS = 500;

const old = engineBuild('redis');
let installed: string;
let agents: GuestAgents<RedisLifecycle>;
type Agent = Awaited<ReturnType<GuestAgents<RedisLifecycle>['agent']>>;
let source: Agent;
let replica: Agent;
let broken: string;

const prepareArgs = (rootPw: string, extra: Partial<GuestArgs<'prepare'>> = {}): GuestArgs<'prepare'> => ({
  memory_mb: 256,
  databases: [],
  users: [],
  root_password: rootPw,
  ds_version: old.version,
  overrides: { 'repl-diskless-sync-delay': 0 },
  ...extra,
});

const as = <T>(a: Agent, pw: string, fn: (r: Redis) => Promise<T>) => withRedis({ port: a.port, password: pw, protocol: 2 }, fn);
const serverInfo = (a: Agent, section: string) => a.lc.admin.run(async (r) => String(await r.info(section)));
const versionOf = async (a: Agent) => /redis_version:(\S+)/.exec(await serverInfo(a, 'server'))?.[1];
const dbsize = (a: Agent, db = 0) =>
  a.lc.admin.run(async (r) => {
    await r.select(db);
    return r.dbsize();
  });
/** The ACL file's users, each with its rules sorted (Redis writes them in an order of its own at each ACL SAVE). */
const aclRules = (a: Agent) =>
  readFileSync(a.lc.paths.aclFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ').sort().join(' '))
    .sort();
const upgrade = (a: Agent, version: string) => call(a, 'upgrade', { upgrade_info: { datastore_version: version } });

test.before(async () => {
  installed = (await redisServerVersion('/usr/bin/redis-server'))!;
  agents = new GuestAgents<RedisLifecycle>({ prefix: 'redis-upgrade-', section: 'redis', build: redisEngine });
  agents.open();
  agents.passwords.push(SOURCE_ROOT, REPLICA_ROOT);
  // a build that says it is 7.0.99 and cannot start (the server's own words in its log)
  broken = path.join(agents.root, 'broken');
  failingBuild(broken, 'usr/bin/redis-server', {
    versionLine: 'Redis server v=7.0.99 sha=00000000:0 malloc=libc bits=64 build=0',
    errorLine: "4242:M 07 Dec 2026 01:00:00.000 # Forced failure: Can't handle RDB format version 99",
  });
  const dirs = { version_dirs: `${old.dir},${broken}` };
  source = await agents.agent('source', SOURCE_ID, dirs);
  await call(source, 'prepare', prepareArgs(SOURCE_ROOT));
  await as(source, SOURCE_ROOT, async (r) => {
    for (let i = 0; i < KEYS; i++) await r.set(`k:${i}`, `v${i}`);
    await r.hset('user:1', { name: 'ada', lang: 'en' });
    await r.set('ttl:1', 'x', 'EX', 3600);
    await r.select(3);
    for (let i = 0; i < 20; i++) await r.rpush('list:3', `e${i}`);
    await r.set('db3:k', 'here');
  });
  // the replica: a backup of the source restored, then replicating from it (the replica flow)
  const master = await agents.snapshotFor(source, REPLICA_ID);
  const backup = await agents.backupOf(source, 'upgrade-snap-1');
  replica = await agents.agent('replica', REPLICA_ID, dirs);
  await call(replica, 'prepare', prepareArgs(REPLICA_ROOT, { ...restoreFrom('upgrade-snap-1', backup), snapshot: { master } }));
});

test.after.always(() => agents?.close());

test.serial('both members run the side-by-side 6.0 build (root works there: an ACL without channel rules)', async (t) => {
  t.regex(old.version, /^6\.0\./);
  t.regex(installed, /^7\.0\./);
  t.is(await versionOf(source), old.version);
  t.is(await versionOf(replica), old.version);
  t.is(await as(source, SOURCE_ROOT, (r) => r.get('k:7')), 'v7');
  t.is(await as(replica, REPLICA_ROOT, (r) => r.get('k:7')), 'v7');
  t.regex(await serverInfo(replica, 'replication'), /master_link_status:up/);
  t.false(readFileSync(source.lc.paths.aclFile, 'utf8').includes('&*'), 'Redis 6.0 refuses channel rules');
});

test.serial('a version with no build here: refused before anything changed, naming the builds found', async (t) => {
  const err = await t.throwsAsync(upgrade(replica, '7.2.4'));
  t.regex(err!.message, /No build of Redis 7\.2\.4 is installed on this server/);
  t.true(err!.message.includes(`/usr/bin/redis-server (${installed})`), err!.message);
  t.true(err!.message.includes(`${old.dir}/usr/bin/redis-server (${old.version})`), err!.message);
  t.true(err!.message.includes(`${broken}/usr/bin/redis-server (7.0.99)`), err!.message);
  t.is(await versionOf(replica), old.version);
  t.is(await dbsize(replica), KEYS + 2);
});

test.serial('a build that cannot start: rolled back to the old build, data and config, the server saying why', async (t) => {
  const conf = readFileSync(source.lc.paths.conf, 'utf8');
  const acl = aclRules(source);
  const err = await t.throwsAsync(upgrade(source, '7.0.99'));
  t.regex(
    err!.message,
    new RegExp(`The upgrade from Redis ${old.version.replace(/\./g, '\\.')} to 7\\.0\\.99 failed and was rolled back to the old binaries and data`),
  );
  t.regex(err!.message, /the Redis server exited while starting: redis-server: Forced failure: Can't handle RDB format version 99/);
  t.is(await versionOf(source), old.version);
  t.is(await source.lc.health(), 'healthy');
  t.is(await dbsize(source), KEYS + 2);
  t.is(await dbsize(source, 3), 2);
  t.is(readFileSync(source.lc.paths.conf, 'utf8'), conf);
  t.deepEqual(aclRules(source), acl);
  // and still its replica's source
  await as(source, SOURCE_ROOT, (r) => r.set('after-rollback', '1'));
  await until('the key written after the rollback on the replica', async () => (await as(replica, REPLICA_ROOT, (r) => r.get('after-rollback'))) === '1');
});

test.serial('the replica first: 6.0 -> 7.0 with every key, re-attached to its 6.0 source, which it follows on', async (t) => {
  const done = (await upgrade(replica, installed)) as { version: string };
  t.is(done.version, installed);
  t.is(await versionOf(replica), installed);
  t.is(await versionOf(source), old.version);
  t.regex(await serverInfo(replica, 'replication'), /master_link_status:up/);
  t.is(await dbsize(replica), KEYS + 3);
  t.is(await as(replica, REPLICA_ROOT, (r) => r.hget('user:1', 'name')), 'ada');
  await as(source, SOURCE_ROOT, (r) => r.set('from-6.0', 'yes'));
  await until('a key from the 6.0 source on the 7.0 replica', async () => (await as(replica, REPLICA_ROOT, (r) => r.get('from-6.0'))) === 'yes');
  // users still cannot write on it, root reaches its data
  await t.throwsAsync(
    as(replica, REPLICA_ROOT, (r) => r.set('x', '1')),
    { message: /READONLY|NOPERM/ },
  );
});

test.serial('then the source: 7.0 with every key (TTLs and other databases too), its replica following, kept across a restart', async (t) => {
  const done = (await upgrade(source, installed)) as { version: string };
  t.is(done.version, installed);
  t.is(await versionOf(source), installed);
  t.is(await dbsize(source), KEYS + 4);
  t.is(await dbsize(source, 3), 2);
  const ttl = await as(source, SOURCE_ROOT, (r) => r.ttl('ttl:1'));
  t.true(ttl > 3000 && ttl <= 3600, `ttl ${ttl}`);
  t.deepEqual(
    await as(source, SOURCE_ROOT, (r) => r.select(3).then(() => r.lrange('list:3', 0, -1))),
    Array.from({ length: 20 }, (_, i) => `e${i}`),
  );
  // Redis 7 knows channel rules: root gets every channel, and the switches for DEBUG and MODULE are on
  t.regex(readFileSync(source.lc.paths.aclFile, 'utf8'), /^user default on .*&\*/m);
  t.regex(readFileSync(source.lc.paths.conf, 'utf8'), /^enable-debug-command "no"$/m);
  await as(source, SOURCE_ROOT, (r) => r.set('from-7.0', 'yes'));
  await until('a key from the 7.0 source on the 7.0 replica', async () => (await as(replica, REPLICA_ROOT, (r) => r.get('from-7.0'))) === 'yes');
  await source.lc.restart();
  t.is(await versionOf(source), installed);
  t.is(await dbsize(source), KEYS + 5);
  // on the configured build again (no version directory recorded), no copy left behind
  t.false(existsSync(source.lc.paths.buildFile));
  for (const f of [source.lc.paths.dataDir, source.lc.paths.conf, source.lc.paths.aclFile]) t.false(existsSync(`${f}.pre-upgrade`), f);
});

test.serial('no password in any log line', (t) => {
  const all = agents.logged.join('\n');
  t.true(all.includes('upgrade: done'));
  for (const pw of agents.passwords) t.false(all.includes(pw), 'a password was logged');
});
