// The Redis engine on a real redis-server in a temp directory: prepare, the clients' user closed
// until root is enabled, root's password over TCP, configuration overrides live and across a
// restart, read-only, injection attempts, no databases or users capability.
import test from 'ava';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { createLogger } from '../../../src/common/log.js';
import { freeTcpPort } from '../../../test/helpers/ports.js';
import { InvalidValueError, NotSupportedError, type Engine } from '../../capabilities.js';
import { adminHandlers } from '../../admin-handlers.js';
import { redisEngine } from './manager.js';
import type { RedisLifecycle } from './lifecycle.js';
import { reapOnExit } from '../../../test/helpers/reap.js';

const BIN = '/usr/bin/redis-server';
const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
let engine: Engine;
let port: number;
let root: string;

/** A client over TCP as the clients' user (AUTH <password>, or none). */
const client = async (password?: string) => {
  const r = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, enableReadyCheck: false, disableClientInfo: true, protocol: 2 });
  r.on('error', () => undefined);
  await r.connect();
  return r;
};

const withClient = async <T>(password: string | undefined, fn: (r: Redis) => Promise<T>): Promise<T> => {
  const r = await client(password);
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
};

const admin = () => (engine.lifecycle as RedisLifecycle).admin;
const configGet = (key: string) => admin().run(async (r) => ((await r.call('CONFIG', 'GET', key)) as string[])[1]);

if (!existsSync(BIN)) {
  if (process.env.TROVE_TEST_SKIP_ENGINES) test.skip('Redis engine (not installed; TROVE_TEST_SKIP_ENGINES is set)', () => undefined);
  else test('Redis is installed', (t) => t.fail(`no ${BIN}: install redis-server, or set TROVE_TEST_SKIP_ENGINES=1 to skip the engine tests`));
} else {
  test.before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'redis-engine-'));
    reapOnExit(root); // a crash of this file leaves no engine running
    chmodSync(root, 0o755);
    port = await freeTcpPort();
    mkdirSync(path.join(root, 'state'), { recursive: true });
    const raw = { DEFAULT: {}, redis: { mount_point: path.join(root, 'volume'), port: String(port), bind_host: '127.0.0.1' } };
    engine = redisEngine(raw, path.join(root, 'state'), log);
    await engine.lifecycle.prepare({ memoryMb: 512, packages: [], databases: [], users: [], overrides: { 'maxmemory-policy': 'allkeys-lru' } });
  });

  test.after.always(async () => {
    await engine?.lifecycle.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test.serial('prepare: a healthy server sized from the flavor, its files private, clients closed out until root is enabled', async (t) => {
    t.is(await engine.lifecycle.health(), 'healthy');
    t.is(await configGet('maxmemory'), String(384 * 1024 * 1024));
    t.is(await configGet('appendonly'), 'yes');
    t.is(await configGet('maxmemory-policy'), 'allkeys-lru', 'the overrides of the create call');
    const lc = engine.lifecycle as RedisLifecycle;
    t.is(await configGet('dir'), lc.paths.dataDir);
    for (const f of [lc.paths.adminPasswordFile, lc.paths.aclFile, lc.paths.conf]) t.is(statSync(f).mode & 0o777, 0o600, f);
    t.is(statSync(lc.paths.runDir).mode & 0o777, 0o700);
    if (process.getuid?.() === 0) {
      // never root: the server runs as the redis OS user, the agent's password stays root's
      const uid = Number(readFileSync('/etc/passwd', 'utf8').match(/^redis:[^:]*:(\d+):/m)?.[1]);
      const pid = readFileSync(lc.paths.pidFile, 'utf8').trim();
      t.regex(readFileSync(`/proc/${pid}/status`, 'utf8'), new RegExp(`^Uid:\\s+${uid}\\s`, 'm'));
      t.is(statSync(lc.paths.dataDir).uid, uid);
      t.is(statSync(lc.paths.adminPasswordFile).uid, 0);
    }
    const secret = readFileSync(lc.paths.adminPasswordFile, 'utf8').trim();
    t.false(readFileSync(lc.paths.aclFile, 'utf8').includes(secret), 'the ACL file holds a hash, not the password');
    await t.throwsAsync(withClient(undefined, (r) => r.set('k', 'v')), { message: /NOAUTH|NOPERM|auth/i });
    await t.throwsAsync(withClient('guess', (r) => r.ping()));
    t.false(await engine.root!.isRootEnabled());
    t.is(engine.databases, undefined);
    t.is(engine.users, undefined);
    // the guest's dispatch answers Trove's 501 for the verbs of the capabilities Redis lacks
    const handlers = adminHandlers(engine);
    await t.throwsAsync(handlers.create_user({ users: [] } as never, {} as never), { instanceOf: NotSupportedError, message: /Users are not supported for the 'redis' datastore/ });
    await t.throwsAsync(handlers.list_databases({ include_marker: false } as never, {} as never), { instanceOf: NotSupportedError });
  });

  test.serial('root enable returns a password that logs in over TCP and writes; disable closes it again', async (t) => {
    const { name, password } = await engine.root!.enableRoot();
    t.is(name, 'default');
    t.true(await engine.root!.isRootEnabled());
    t.is(await withClient(password, async (r) => (await r.set('greeting', 'hello'), r.get('greeting'))), 'hello');
    // saved to the ACL file: still enabled after a restart, and the data is there (AOF)
    await engine.lifecycle.restart();
    t.true(await engine.root!.isRootEnabled());
    t.is(await withClient(password, (r) => r.get('greeting')), 'hello');
    await engine.root!.disableRoot();
    t.false(await engine.root!.isRootEnabled());
    await t.throwsAsync(withClient(password, (r) => r.get('greeting')));
    const chosen = await engine.root!.enableRoot('Chosen-redis-pw-1');
    t.is(chosen.password, 'Chosen-redis-pw-1');
    t.is(await withClient('Chosen-redis-pw-1', (r) => r.get('greeting')), 'hello');
  });

  test.serial('configuration: applied live, kept across a restart through the include file, removable', async (t) => {
    await engine.configuration!.updateOverrides({ 'maxmemory-policy': 'volatile-lru', timeout: 300 }, false);
    await engine.configuration!.applyOverrides({ 'maxmemory-policy': 'volatile-lru', timeout: 300 });
    t.is(await configGet('maxmemory-policy'), 'volatile-lru');
    t.is(await configGet('timeout'), '300');
    const effective = await engine.configuration!.effectiveSettings();
    t.like(effective, { 'maxmemory-policy': 'volatile-lru', timeout: 300, maxmemory: '384mb', appendonly: 'yes', port, bind: '127.0.0.1' });
    t.false('include' in effective);
    await engine.lifecycle.restart();
    t.is(await configGet('maxmemory-policy'), 'volatile-lru');
    await engine.configuration!.updateOverrides({}, true);
    await engine.lifecycle.restart();
    t.is(await configGet('maxmemory-policy'), 'noeviction');
    t.is(await configGet('timeout'), '0');
    await t.throwsAsync(engine.configuration!.applyOverrides({ 'maxmemory-policy': 'no-such-policy' }), { instanceOf: InvalidValueError });
    await t.throwsAsync(engine.configuration!.applyOverrides({ 'no-such-parameter': 1 }), { instanceOf: InvalidValueError });
  });

  test.serial('injection through keys, values and passwords is refused or harmless; the server is unchanged', async (t) => {
    const lc = engine.lifecycle as RedisLifecycle;
    const confBefore = readFileSync(lc.paths.conf, 'utf8');
    for (const bad of [{ 'timeout 0\nrequirepass x': 1 }, { timeout: '0\ninclude /etc/passwd' }, { dir: '/tmp' }, { aclfile: '/tmp/x' }, { 'rename-command': 'FLUSHALL ""' }]) {
      await t.throwsAsync(engine.configuration!.updateOverrides(bad, false), { instanceOf: InvalidValueError }, JSON.stringify(bad));
      await t.throwsAsync(engine.configuration!.applyOverrides(bad), { instanceOf: InvalidValueError }, JSON.stringify(bad));
    }
    await engine.configuration!.updateOverrides({ 'maxmemory-policy': 'allkeys-lru' }, false);
    for (const pw of ['a b', 'x on nopass', 'p\nACL SETUSER default nopass']) await t.throwsAsync(engine.root!.enableRoot(pw), { instanceOf: InvalidValueError });
    // a password that looks like ACL rules is only a password
    const { password } = await engine.root!.enableRoot('>other<nopass+@all');
    await t.throwsAsync(withClient(undefined, (r) => r.get('greeting')));
    t.is(await withClient(password, (r) => r.get('greeting')), 'hello');
    const users = await lc.admin.run(async (r) => (await r.call('ACL', 'USERS')) as string[]);
    t.deepEqual(users.sort(), ['default', 'os_admin']);
    t.is(readFileSync(lc.paths.conf, 'utf8'), confBefore);
    await engine.lifecycle.restart();
    t.is(await configGet('maxmemory-policy'), 'allkeys-lru');
    t.is(await engine.lifecycle.health(), 'healthy');
  });

  test.serial('read-only refuses clients\' writes but not reads, and lifting it allows them again', async (t) => {
    const pw = '>other<nopass+@all';
    await engine.lifecycle.setReadOnly(true);
    await t.throwsAsync(withClient(pw, (r) => r.set('k2', 'v')), { message: /NOPERM/ });
    t.is(await withClient(pw, (r) => r.get('greeting')), 'hello');
    t.is(await engine.lifecycle.health(), 'healthy');
    await engine.lifecycle.setReadOnly(false);
    t.is(await withClient(pw, async (r) => (await r.set('k2', 'v'), r.get('k2'))), 'v');
  });

  test.serial('stop makes health say shutdown; start brings the data back', async (t) => {
    await engine.lifecycle.stop();
    t.is(await engine.lifecycle.health(), 'shutdown');
    await engine.lifecycle.start();
    t.is(await engine.lifecycle.health(), 'healthy');
    t.is(await withClient('>other<nopass+@all', (r) => r.get('k2')), 'v');
    t.true(await engine.lifecycle.prepared());
  });

  test.serial("a start redis-server refuses fails as soon as it exits, quoting its config file error", async (t) => {
    const lc = engine.lifecycle as RedisLifecycle;
    const conf = readFileSync(lc.paths.conf, 'utf8');
    t.teardown(() => writeFileSync(lc.paths.conf, conf, { mode: 0o600 }));
    writeFileSync(lc.paths.conf, `${conf}\nno-such-directive yes\n`, { mode: 0o600 });
    await engine.lifecycle.stop();
    const began = Date.now();
    const err = await t.throwsAsync(engine.lifecycle.start());
    t.regex(err!.message, /^the Redis server exited while starting: redis-server: \*\*\* FATAL CONFIG FILE ERROR .*>>> 'no-such-directive yes'.*Bad directive or wrong number of arguments/);
    t.true(Date.now() - began < 30_000, `failed in ${Date.now() - began} ms, start_timeout is 60 s`);
    writeFileSync(lc.paths.conf, conf, { mode: 0o600 });
    await engine.lifecycle.start();
    t.is(await engine.lifecycle.health(), 'healthy');
  });
}
