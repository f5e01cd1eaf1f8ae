// Backups of a real redis-server in a temp dir: strings, a hash, a list, a set, a sorted set, a
// binary value and keys in another database, an RDB snapshot (BGSAVE) through the pipeline into the
// local store, restored into a second, freshly prepared server that keeps its own ACL (root's
// password, the agent's user) and has the data, also after a restart (the AOF rewritten from it).
import test from 'ava';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { createLogger } from '../../../src/common/log.js';
import { ObjectDirectory } from '../../../src/common/object-directory.js';
import { freeTcpPort } from '../../../test/helpers/ports.js';
import { withRedis } from '../../../test/helpers/redis-client.js';
import { runBackup } from '../../backup/run-backup.js';
import { runRestore } from '../../backup/run-restore.js';
import { LocalBackupStorage } from '../../backup/storage/local.js';
import type { Backup, Engine } from '../../capabilities.js';
import { redisEngine } from './manager.js';
import type { RedisLifecycle } from './lifecycle.js';
import { REDIS_FORMAT } from './backup.js';
import { reapOnExit } from '../../../test/helpers/reap.js';

const BIN = '/usr/bin/redis-server';
const KEY = 'backup-service-key';
const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
let root: string;
const servers: Engine[] = [];

interface Server {
  engine: Engine;
  lc: RedisLifecycle;
  backup: Backup;
  port: number;
  mount: string;
}

async function server(name: string): Promise<Server> {
  const port = await freeTcpPort();
  const mount = path.join(root, name, 'volume');
  mkdirSync(path.join(root, name, 'state'), { recursive: true });
  const engine = redisEngine({ DEFAULT: {}, redis: { mount_point: mount, port: String(port), bind_host: '127.0.0.1' } }, path.join(root, name, 'state'), log);
  servers.push(engine);
  await engine.lifecycle.prepare({ memoryMb: 256, packages: [], databases: [], users: [], overrides: {} });
  return { engine, lc: engine.lifecycle as RedisLifecycle, backup: engine.backup!, port, mount };
}

const withClient = <T>(port: number, password: string, fn: (r: Redis) => Promise<T>): Promise<T> => withRedis({ port, password }, fn);

const BLOB = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** Everything the test wrote, read back. */
const dataset = (port: number, password: string) =>
  withClient(port, password, async (r) => {
    const keys = (await r.keys('*')).sort();
    const out: Record<string, unknown> = {
      keys,
      greeting: await r.get('greeting'),
      user: await r.hgetall('user:1'),
      queue: await r.lrange('queue', 0, -1),
      tags: (await r.smembers('tags')).sort(),
      board: await r.zrange('board', '0', '-1', 'WITHSCORES'),
      blob: (await r.getBuffer('blob'))?.toString('hex'),
      counter: await r.get('counter'),
      ttl: (await r.ttl('session')) > 0,
      many: (await r.keys('k:*')).length,
    };
    await r.select(3);
    out.db3 = await r.get('elsewhere');
    return out;
  });

/** An ACL file's users, each with its tokens (flags, #hashes, rules) as a sorted list. */
const aclRules = (text: string): Record<string, string[]> =>
  Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .map(([, name, ...rest]) => [name!, rest.sort()]),
  );

const storage = () => new LocalBackupStorage(path.join(root, 'objects'));

if (!existsSync(BIN)) {
  if (process.env.TROVE_TEST_SKIP_ENGINES) test.skip('Redis backups (not installed; TROVE_TEST_SKIP_ENGINES is set)', () => undefined);
  else test('Redis is installed', (t) => t.fail(`no ${BIN}: install redis-server, or set TROVE_TEST_SKIP_ENGINES=1`));
} else {
  let source: Server;
  let sourcePw: string;

  test.before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'redis-backup-'));
    reapOnExit(root); // a crash of this file leaves no engine running
    chmodSync(root, 0o755);
    source = await server('source');
    sourcePw = (await source.engine.root!.enableRoot('Source-root-pw-1')).password;
    await withClient(source.port, sourcePw, async (r) => {
      await r.set('greeting', 'hello, "world" \\ \n');
      await r.hset('user:1', { name: 'Ada', email: 'ada@example.org', visits: '42' });
      await r.rpush('queue', 'first', 'second', 'third');
      await r.sadd('tags', 'a', 'b', 'c');
      await r.zadd('board', 10, 'x', 20, 'y');
      await r.set('blob', BLOB);
      await r.incrby('counter', 7);
      await r.set('session', 'tok', 'EX', 3600);
      const p = r.pipeline();
      for (let i = 0; i < 5000; i++) p.set(`k:${i}`, `value-${i}-${'v'.repeat(i % 50)}`);
      await p.exec();
      await r.select(3);
      await r.set('elsewhere', 'db3');
    });
  });

  test.after.always(async () => {
    for (const s of servers) await s.lifecycle.stop().catch(() => undefined);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test.serial('RDB → local store → a second, freshly prepared server: same keys and values; its own ACL; kept across a restart', async (t) => {
    const expected = await dataset(source.port, sourcePw);
    t.is(expected.many, 5000);
    const src = await source.backup.backupStream();
    t.is(src.format, REDIS_FORMAT);
    const r = await runBackup({ source: src.stream, format: src.format, storage: storage(), container: 'database_backups', name: 'redis-1', serviceKey: KEY });
    t.regex(r.location, /redis-1\.redis-rdb\.(zst|gz)\.enc$/);
    t.true(r.rawSize > 50_000, `raw ${r.rawSize}`);
    // the source changes after the backup
    await withClient(source.port, sourcePw, (r) => r.del('greeting'));

    const target = await server('target');
    const targetPw = (await target.engine.root!.enableRoot('Target-root-pw-2')).password;
    await withClient(target.port, targetPw, (r) => r.set('target-only', 'gone after the restore'));
    const acl = readFileSync(target.lc.paths.aclFile, 'utf8');
    await runRestore({
      storage: storage(),
      location: r.location,
      checksum: r.checksum,
      serviceKey: KEY,
      stagingDir: target.backup.stagingDir('redis-1'),
      sink: (dir, meta) => target.backup.restoreStream(meta.format, dir),
      commit: (dir, meta) => target.backup.installRestored(meta.format, dir),
    });
    t.deepEqual(
      readdirSync(target.mount).filter((f) => f.startsWith('.restore-')),
      [],
      'staging removed',
    );
    await target.engine.lifecycle.start();
    t.is(await target.engine.lifecycle.health(), 'healthy');
    t.deepEqual(await dataset(target.port, targetPw), expected);
    // the target's ACL: its root password logs in, the source's does not; the agent's user works
    // (the same users, password hashes and rules: Redis writes a user's subcommand rules in an order of its own at each ACL SAVE, and every start saves)
    t.deepEqual(aclRules(readFileSync(target.lc.paths.aclFile, 'utf8')), aclRules(acl));
    await t.throwsAsync(withClient(target.port, sourcePw, (r) => r.ping()));
    t.true(await target.engine.root!.isRootEnabled());
    t.is(await target.lc.admin.run((r) => r.call('CONFIG', 'GET', 'appendonly')).then((v) => (v as string[])[1]), 'yes', 'AOF back on');
    if (process.getuid?.() === 0) {
      const uid = Number(readFileSync('/etc/passwd', 'utf8').match(/^redis:[^:]*:(\d+):/m)?.[1]);
      t.is(statSync(path.join(target.lc.paths.dataDir, 'dump.rdb')).uid, uid);
    }
    // a write after the restore, then a restart: the server loads the AOF rewritten from the restored data
    await withClient(target.port, targetPw, (r) => r.rpush('queue', 'fourth'));
    await target.engine.lifecycle.restart();
    t.is(await target.engine.lifecycle.health(), 'healthy');
    const after = await dataset(target.port, targetPw);
    t.deepEqual(after.queue, ['first', 'second', 'third', 'fourth']);
    t.deepEqual({ ...after, queue: expected.queue }, expected);
    // and the agent still manages it
    await target.engine.root!.disableRoot();
    await t.throwsAsync(withClient(target.port, targetPw, (r) => r.ping()));
  });

  test.serial('backups while saves run: a second backup right after the first, and one during an AOF rewrite', async (t) => {
    await source.lc.admin.run((r) => r.call('BGREWRITEAOF'));
    const [a, b] = await Promise.all([source.backup.backupStream(), source.backup.backupStream()]);
    for (const [i, src] of [a, b].entries()) {
      const r = await runBackup({
        source: src.stream,
        format: src.format,
        storage: storage(),
        container: 'database_backups',
        name: `redis-busy-${i}`,
        serviceKey: KEY,
      });
      t.true(r.rawSize > 50_000);
    }
  });

  test.serial('a backup of a stopped server fails and stores nothing; a non-RDB backup is refused before the server is touched', async (t) => {
    const dead = await server('dead');
    await dead.engine.lifecycle.stop();
    await t.throwsAsync(dead.backup.backupStream());
    const dir = new ObjectDirectory(path.join(root, 'objects'));
    t.deepEqual([...(await dir.listObjects('dead_backups')), ...(await dir.listObjects('dead_backups_segments'))], []);
    await t.throwsAsync(dead.backup.restoreStream('pg-tar', dead.backup.stagingDir('y')), { message: /cannot restore a backup of format 'pg-tar'/ });
    // a file that is not an RDB: refused, and the server's data untouched
    await dead.engine.lifecycle.start();
    await dead.lc.admin.run((r) => r.set('kept', 'yes'));
    const notRdb = await runBackup({
      source: (await import('node:stream')).Readable.from([Buffer.from('not an rdb file')]),
      format: REDIS_FORMAT,
      storage: storage(),
      container: 'database_backups',
      name: 'bogus',
      serviceKey: KEY,
    });
    await t.throwsAsync(
      runRestore({
        storage: storage(),
        location: notRdb.location,
        serviceKey: KEY,
        stagingDir: dead.backup.stagingDir('bogus'),
        sink: (d, meta) => dead.backup.restoreStream(meta.format, d),
        commit: (d, meta) => dead.backup.installRestored(meta.format, d),
      }),
      { message: /not a Redis RDB file/ },
    );
    t.is(await dead.lc.admin.run((r) => r.get('kept')), 'yes');
  });
}
