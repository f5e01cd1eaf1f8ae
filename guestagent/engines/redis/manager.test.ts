// The Redis engine on a real redis-server in a temp directory: prepare, the clients' user closed
// until root is enabled, root's password over TCP, configuration overrides live and across a
// restart, read-only, injection attempts, no databases or users capability.
import test from 'ava';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { createLogger } from '../../../src/common/log.js';
import { freeTcpPort } from '../../../test/helpers/ports.js';
import { withRedis } from '../../../test/helpers/redis-client.js';
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

/** `fn` over TCP as the clients' user (AUTH <password>, or none). */
const withClient = <T>(password: string | undefined, fn: (r: Redis) => Promise<T>): Promise<T> => withRedis({ port, password, protocol: 2 }, fn);

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
    await t.throwsAsync(
      withClient(undefined, (r) => r.set('k', 'v')),
      { message: /NOAUTH|NOPERM|auth/i },
    );
    await t.throwsAsync(withClient('guess', (r) => r.ping()));
    t.false(await engine.root!.isRootEnabled());
    t.is(engine.databases, undefined);
    t.is(engine.users, undefined);
    // the guest's dispatch answers Trove's 501 for the verbs of the capabilities Redis lacks
    const handlers = adminHandlers(engine);
    await t.throwsAsync(handlers.create_user({ users: [] } as never, {} as never), {
      instanceOf: NotSupportedError,
      message: /Users are not supported for the 'redis' datastore/,
    });
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

  /** What root must not run (each refused with NOPERM before it runs: a SHUTDOWN let through would end the file's server). */
  const REFUSED_TO_ROOT: string[][] = [
    ['CONFIG', 'SET', 'dir', '/tmp'],
    ['CONFIG', 'SET', 'dbfilename', 'x.rdb'],
    ['CONFIG', 'SET', 'maxmemory', '1gb'],
    ['CONFIG', 'REWRITE'],
    ['MODULE', 'LOAD', '/tmp/x.so'],
    ['MODULE', 'LIST'],
    ['DEBUG', 'SLEEP', '0'],
    ['DEBUG', 'RELOAD'],
    ['REPLICAOF', '127.0.0.1', '1'],
    ['SLAVEOF', '127.0.0.1', '1'],
    ['REPLICAOF', 'NO', 'ONE'],
    ['MIGRATE', '169.254.169.254', '80', 'greeting', '0', '1000'],
    ['SYNC'],
    ['PSYNC', '?', '-1'],
    ['REPLCONF', 'listening-port', '1'],
    ['FAILOVER'],
    ['SHUTDOWN', 'NOSAVE'],
    ['ACL', 'SETUSER', 'default', '+@all'],
    ['ACL', 'SETUSER', 'evil', 'on', '>x', '+@all'],
    ['ACL', 'DELUSER', 'os_admin'],
    ['ACL', 'LIST'],
    ['ACL', 'GETUSER', 'os_admin'],
    ['ACL', 'USERS'],
    ['ACL', 'SAVE'],
    ['ACL', 'LOAD'],
    ['ACL', 'LOG'],
    ['RESTORE', 'restored', '0', 'x'],
    ['CLUSTER', 'MEET', '127.0.0.1', '1'],
    ['PFDEBUG', 'GETREG', 'greeting'],
    ['PFSELFTEST'],
  ];

  /** As root: each of REFUSED_TO_ROOT answers NOPERM (in a script too), the data and DBA commands work. */
  const rootIsBounded = async (t: import('ava').ExecutionContext, password: string) => {
    await withClient(password, async (r) => {
      for (const cmd of REFUSED_TO_ROOT) {
        // Redis 7 answers DEBUG and MODULE LOAD with its switch's error before the ACL's (enable-*-command no); ACL DRYRUN below shows the ACL refuses them too
        const message = ['DEBUG', 'MODULE'].includes(cmd[0]!)
          ? new RegExp(`^(ERR ${cmd[0]} command not allowed|NOPERM this user has no permissions to run the '${cmd[0]!.toLowerCase()}(\\|[a-z]+)?' command)`)
          : /^NOPERM this user has no permissions to run the '[a-z|-]+' command/;
        await t.throwsAsync(r.call(cmd[0]!, ...cmd.slice(1)), { message }, cmd.join(' '));
      }
      // from a script (CONFIG and MODULE no script may run at all) or a transaction neither
      await t.throwsAsync(
        r.call('EVAL', "return redis.call('RESTORE', 'restored', '0', 'x')", '0'),
        { message: /The user executing the script can't run this command/ },
        'nor from a script',
      );
      const tx = await r
        .multi()
        .set('in-tx', '1')
        .call('REPLICAOF', '127.0.0.1', '1')
        .exec()
        .catch((e: Error) => e);
      t.regex(String((tx as Error).message ?? tx), /EXECABORT|NOPERM/, 'nor in MULTI/EXEC');
      t.is(await r.get('in-tx'), null);
      t.is(await r.set('bounded', 'yes'), 'OK');
      t.is(await r.get('bounded'), 'yes');
      t.is(await r.call('ACL', 'WHOAMI'), 'default');
      t.regex(String(await r.call('INFO', 'server')), /redis_version:/);
      t.true(((await r.call('KEYS', '*')) as string[]).includes('bounded'));
      t.deepEqual(await r.call('CONFIG', 'GET', 'maxmemory'), ['maxmemory', String(384 * 1024 * 1024)]);
      t.regex(String(await r.call('CLIENT', 'LIST')), /user=default/);
      t.true(Array.isArray(await r.call('SLOWLOG', 'GET', '1')));
      t.is(typeof (await r.call('LASTSAVE')), 'number');
      await r.select(1);
      await r.set('scratch', '1');
      t.is(await r.call('FLUSHDB'), 'OK');
      t.is(await r.dbsize(), 0);
    });
    t.is(await engine.lifecycle.health(), 'healthy', 'the server is up: SHUTDOWN did not run');
    for (const cmd of REFUSED_TO_ROOT) {
      const dry = String(await admin().run((r) => r.call('ACL', 'DRYRUN', 'default', ...cmd)));
      t.regex(dry, /^This user has no permissions to run the '[a-z|-]+' command/, `the ACL refuses ${cmd.join(' ')}`);
    }
    t.is(await admin().run((r) => r.call('ACL', 'DRYRUN', 'default', 'SET', 'k', 'v')), 'OK');
    t.is(await configGet('dir'), (engine.lifecycle as RedisLifecycle).paths.dataDir);
    // each command, plus one from a script and one in MULTI/EXEC (every one asserted above)
    console.log(`engine exploits (redis root): ${REFUSED_TO_ROOT.length + 2} tried, ${REFUSED_TO_ROOT.length + 2} refused`);
    t.is(await configGet('dbfilename'), 'dump.rdb');
  };

  test.serial(
    'root: no CONFIG SET, MODULE, DEBUG, REPLICAOF, MIGRATE, SHUTDOWN, ACL changes (NOPERM), data and DBA commands work; kept in the ACL file, after a restart; DEBUG and MODULE off for the agent too',
    async (t) => {
      const lc = engine.lifecycle as RedisLifecycle;
      const { password } = await engine.root!.enableRoot('Chosen-redis-pw-1');
      await rootIsBounded(t, password);
      // saved in the ACL file (Redis writes the rules in a form of its own): read back from it, the same refusals
      t.notRegex(readFileSync(lc.paths.aclFile, 'utf8'), /^user default .*\+@all$/m);
      t.is(statSync(lc.paths.aclFile).mode & 0o777, 0o600, 'the ACL file stays 0600 after ACL SAVE');
      await admin().run((r) => r.call('ACL', 'LOAD'));
      await rootIsBounded(t, password);
      await engine.lifecycle.restart();
      await rootIsBounded(t, password);
      // an ACL file of an older agent (`default` +@all) is narrowed at the start, and saved so
      const acl = readFileSync(lc.paths.aclFile, 'utf8');
      await engine.lifecycle.stop();
      const older = acl.replace(/^(user default on #[0-9a-f]{64} ~\* &\* ).*$/m, '$1+@all');
      t.not(older, acl);
      writeFileSync(lc.paths.aclFile, older, { mode: 0o600 });
      await engine.lifecycle.start();
      await rootIsBounded(t, password);
      t.notRegex(readFileSync(lc.paths.aclFile, 'utf8'), /^user default .*\+@all$/m, 'and saved so');
      // Redis 7: DEBUG and MODULE switched off in redis.conf, for every connection (the agent's own too)
      t.regex(readFileSync(lc.paths.conf, 'utf8'), /^enable-debug-command "no"$/m);
      t.regex(readFileSync(lc.paths.conf, 'utf8'), /^enable-module-command "no"$/m);
      await t.throwsAsync(
        admin().run((r) => r.call('DEBUG', 'SLEEP', '0')),
        { message: /DEBUG command not allowed/ },
      );
      await t.throwsAsync(
        admin().run((r) => r.call('MODULE', 'LOAD', '/tmp/x.so')),
        { message: /MODULE command not allowed/ },
      );
      // a redis.conf of an older agent gets the switches at the next start
      await engine.lifecycle.stop();
      writeFileSync(lc.paths.conf, readFileSync(lc.paths.conf, 'utf8').replace(/^enable-(debug|module)-command .*\n/gm, ''), { mode: 0o600 });
      await engine.lifecycle.start();
      await t.throwsAsync(
        admin().run((r) => r.call('DEBUG', 'SLEEP', '0')),
        { message: /DEBUG command not allowed/ },
      );
      t.is(await admin().run((r) => r.get('bounded')), 'yes');
    },
  );

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
    for (const bad of [
      { 'timeout 0\nrequirepass x': 1 },
      { timeout: '0\ninclude /etc/passwd' },
      { dir: '/tmp' },
      { aclfile: '/tmp/x' },
      { 'rename-command': 'FLUSHALL ""' },
    ]) {
      await t.throwsAsync(engine.configuration!.updateOverrides(bad, false), { instanceOf: InvalidValueError }, JSON.stringify(bad));
      await t.throwsAsync(engine.configuration!.applyOverrides(bad), { instanceOf: InvalidValueError }, JSON.stringify(bad));
    }
    await engine.configuration!.updateOverrides({ 'maxmemory-policy': 'allkeys-lru' }, false);
    for (const pw of ['a b', 'x on nopass', 'p\nACL SETUSER default nopass'])
      await t.throwsAsync(engine.root!.enableRoot(pw), { instanceOf: InvalidValueError });
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

  test.serial("read-only refuses clients' writes but not reads, and lifting it allows them again", async (t) => {
    const pw = '>other<nopass+@all';
    await engine.lifecycle.setReadOnly(true);
    await t.throwsAsync(
      withClient(pw, (r) => r.set('k2', 'v')),
      { message: /NOPERM/ },
    );
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

  test.serial('a start redis-server refuses fails as soon as it exits, quoting its config file error', async (t) => {
    const lc = engine.lifecycle as RedisLifecycle;
    const conf = readFileSync(lc.paths.conf, 'utf8');
    t.teardown(() => writeFileSync(lc.paths.conf, conf, { mode: 0o600 }));
    writeFileSync(lc.paths.conf, `${conf}\nno-such-directive yes\n`, { mode: 0o600 });
    await engine.lifecycle.stop();
    const began = Date.now();
    const err = await t.throwsAsync(engine.lifecycle.start());
    t.regex(
      err!.message,
      /^the Redis server exited while starting: redis-server: \*\*\* FATAL CONFIG FILE ERROR .*>>> 'no-such-directive yes'.*Bad directive or wrong number of arguments/,
    );
    t.true(Date.now() - began < 30_000, `failed in ${Date.now() - began} ms, start_timeout is 60 s`);
    writeFileSync(lc.paths.conf, conf, { mode: 0o600 });
    await engine.lifecycle.start();
    t.is(await engine.lifecycle.health(), 'healthy');
  });
}
