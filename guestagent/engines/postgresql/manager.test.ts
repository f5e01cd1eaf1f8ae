// The PostgreSQL engine on a real server in a temp directory (run as the postgres OS user when the
// test runs as root): prepare, users and databases reached over TCP with scram, grants, root,
// configuration overrides live, read-only, injection attempts, restart.
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, chmodSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { createLogger } from '../../../src/common/log.js';
import { freeTcpPort } from '../../../test/helpers/ports.js';
import { InvalidValueError, type Engine } from '../../capabilities.js';
import { findBinDir } from './detect.js';
import { postgresqlEngine } from './manager.js';
import type { PgLifecycle } from './lifecycle.js';
import { reapOnExit } from '../../../test/helpers/reap.js';

const binDir = findBinDir();
const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
let engine: Engine;
let port: number;
let root: string;

const connect = async (user = 'app', password = 'app-Secret-1', database = 'shop') => {
  const c = new pg.Client({ host: '127.0.0.1', port, user, password, database, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  return c;
};

/** A query on a fresh connection, closed afterwards. */
const once = async (sql: string, as: Parameters<typeof connect> = []) => {
  const c = await connect(...as);
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
};

if (!binDir) {
  if (process.env.TROVE_TEST_SKIP_ENGINES) test.skip('PostgreSQL engine (not installed; TROVE_TEST_SKIP_ENGINES is set)', () => undefined);
  else
    test('PostgreSQL is installed', (t) =>
      t.fail('no /usr/lib/postgresql/<version>/bin/postgres: install postgresql, or set TROVE_TEST_SKIP_ENGINES=1 to skip the engine tests'));
} else {
  test.before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'postgresql-engine-'));
    reapOnExit(root); // a crash of this file leaves no engine running
    chmodSync(root, 0o755);
    port = await freeTcpPort();
    mkdirSync(path.join(root, 'state'), { recursive: true });
    const raw = { DEFAULT: {}, postgresql: { mount_point: path.join(root, 'volume'), port: String(port), bind_host: '127.0.0.1' } };
    engine = postgresqlEngine(raw, path.join(root, 'state'), log);
    await engine.lifecycle.prepare({
      memoryMb: 512,
      packages: [],
      databases: [{ name: 'shop' }],
      users: [{ name: 'app', host: '%', password: 'app-Secret-1', databases: ['shop'] }],
      overrides: {},
    });
  });

  test.after.always(async () => {
    await engine?.lifecycle.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test.serial('prepare gives a server the created user reaches over TCP, writing and reading a row', async (t) => {
    const c = await connect();
    await c.query('CREATE TABLE t (id INT PRIMARY KEY, v TEXT)');
    await c.query('INSERT INTO t VALUES (1, $1)', ['hello']);
    t.deepEqual((await c.query('SELECT v FROM t WHERE id = 1')).rows, [{ v: 'hello' }]);
    await c.end();
    t.is(await engine.lifecycle.health(), 'healthy');
    const lc = engine.lifecycle as PgLifecycle;
    const settings = await lc.admin.run(
      async (a) =>
        (
          await a.query(
            "SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'effective_cache_size', 'max_connections', 'password_encryption') ORDER BY name",
          )
        ).rows,
    );
    t.deepEqual(settings, [
      { name: 'effective_cache_size', setting: String((384 * 1024) / 8), unit: '8kB' },
      { name: 'max_connections', setting: '64', unit: null },
      { name: 'password_encryption', setting: 'scram-sha-256', unit: null },
      { name: 'shared_buffers', setting: String((128 * 1024) / 8), unit: '8kB' },
    ]);
    if (process.getuid?.() === 0)
      t.is(
        statSync(lc.paths.dataDir).uid,
        Number(readFileSync('/etc/passwd', 'utf8').match(/^postgres:[^:]*:(\d+):/m)?.[1]),
        'the cluster belongs to the postgres OS user',
      );
    t.is(statSync(lc.paths.dataDir).mode & 0o777, 0o700);
    // The admin role has no way in over TCP; a wrong password is refused.
    await t.throwsAsync(connect('os_admin', '', 'postgres'));
    await t.throwsAsync(connect('app', 'wrong'));
    // The stored password is a SCRAM verifier, never the clear text.
    const stored = await lc.admin.run(async (a) => (await a.query<{ p: string }>("SELECT rolpassword AS p FROM pg_authid WHERE rolname = 'app'")).rows[0]!.p);
    t.regex(stored, /^SCRAM-SHA-256\$4096:/);
  });

  test.serial('databases and users: list with paging, grants, passwords, delete', async (t) => {
    await engine.databases!.createDatabases([{ name: 'a1' }, { name: 'a2', characterSet: 'UTF8', collate: 'C.UTF-8' }, { name: 'a3' }]);
    const first = await engine.databases!.listDatabases(2);
    t.deepEqual(
      first.items.map((d) => d.name),
      ['a1', 'a2'],
    );
    t.is(first.nextMarker, 'a2');
    const second = await engine.databases!.listDatabases(2, first.nextMarker!);
    t.deepEqual(
      second.items.map((d) => d.name),
      ['a3', 'shop'],
    );
    t.is(second.nextMarker, null);
    t.deepEqual(first.items[1], { name: 'a2', characterSet: 'UTF8', collate: 'C.UTF-8' });
    await engine.users!.createUsers([{ name: 'bob', host: '%', password: 'bob-pw-1', databases: ['a1'] }]);
    t.deepEqual(await engine.users!.getUser('bob', '%'), { name: 'bob', host: '%', databases: ['a1'] });
    // Without a grant a user cannot connect (PUBLIC has no CONNECT on our databases).
    await t.throwsAsync(connect('bob', 'bob-pw-1', 'a2'), { message: /permission denied/ });
    await engine.users!.grantAccess('bob', '%', ['a2']);
    t.deepEqual(
      (await engine.users!.listAccess('bob', '%')).map((d) => d.name),
      ['a1', 'a2'],
    );
    const bob = await connect('bob', 'bob-pw-1', 'a2');
    await bob.query('CREATE TABLE b (x INT)');
    await bob.query('INSERT INTO b VALUES (7)');
    t.deepEqual((await bob.query('SELECT x FROM b')).rows, [{ x: 7 }]);
    await bob.end();
    await engine.users!.revokeAccess('bob', '%', 'a1');
    t.deepEqual(
      (await engine.users!.listAccess('bob', '%')).map((d) => d.name),
      ['a2'],
    );
    await t.throwsAsync(connect('bob', 'bob-pw-1', 'a1'), { message: /permission denied/ });
    await engine.users!.changePasswords([{ name: 'bob', host: '%', password: 'bob-pw-2' }]);
    await t.throwsAsync(connect('bob', 'bob-pw-1', 'a2'));
    await (await connect('bob', 'bob-pw-2', 'a2')).end();
    const users = await engine.users!.listUsers();
    t.deepEqual(
      users.items.map((u) => `${u.name}@${u.host}:${u.databases.join(',')}`),
      ['app@%:shop', 'bob@%:a2'],
    );
    const page = await engine.users!.listUsers(1);
    t.deepEqual([page.items.map((u) => u.name), page.nextMarker], [['app'], 'app']);
    await engine.users!.deleteUser('bob', '%');
    t.is(await engine.users!.getUser('bob', '%'), null);
    // bob's table survives him, owned by the admin role
    const owner = await (engine.lifecycle as PgLifecycle).admin.run(
      async (a) => (await a.query<{ o: string }>("SELECT tableowner AS o FROM pg_tables WHERE tablename = 'b'")).rows,
      'a2',
    );
    t.deepEqual(owner, [{ o: 'os_admin' }]);
    await engine.databases!.deleteDatabase('a3');
    t.false((await engine.databases!.listDatabases()).items.some((d) => d.name === 'a3'));
    await t.throwsAsync(engine.users!.grantAccess('app', '%', ['nope']), { instanceOf: InvalidValueError });
  });

  test.serial('root enable returns `root`, not a superuser: it logs in, creates databases, reads and writes every table; disable takes it away', async (t) => {
    t.false(await engine.root!.isRootEnabled());
    const { name, password } = await engine.root!.enableRoot();
    t.is(name, 'root');
    const as: Parameters<typeof connect> = [name, password, 'shop'];
    t.deepEqual(await once('SELECT rolsuper, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = current_user', as), [
      { rolsuper: false, rolcreatedb: true, rolreplication: false, rolbypassrls: false },
    ]);
    const member = await once(
      'SELECT r.rolname AS r FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user) ORDER BY 1',
      as,
    );
    t.deepEqual(
      member.map((m) => m.r),
      ['pg_monitor', 'pg_read_all_data', 'pg_signal_backend', 'pg_write_all_data'],
    );
    t.true(await engine.root!.isRootEnabled());
    t.false(
      (await engine.users!.listUsers()).items.some((u) => u.name === 'root'),
      'root is not a user of the users list',
    );
    // the legit: every table of a user's database read and written, a database of its own created
    t.deepEqual(await once('SELECT v FROM t WHERE id = 1', as), [{ v: 'hello' }]);
    await once("INSERT INTO t VALUES (99, 'by root')", as);
    t.deepEqual(await once('DELETE FROM t WHERE id = 99 RETURNING v', as), [{ v: 'by root' }]);
    await once('CREATE TABLE by_root (i INT)', as);
    await once('DROP TABLE by_root', as);
    await once('CREATE DATABASE root_db', as);
    await (await connect(name, password, 'root_db')).end();
    // a database created through the API after root was enabled is reachable too
    await engine.databases!.createDatabases([{ name: 'later' }]);
    await (await connect(name, password, 'later')).end();
    // the exploits: each refused
    let tried = 0;
    let refusals = 0;
    const refused = async (sql: string, message: RegExp) => {
      tried++;
      const err = await t.throwsAsync(once(sql, as));
      t.regex(err?.message ?? '', message, sql);
      if (err && message.test(err.message)) refusals++;
    };
    await refused("COPY (SELECT 1) TO PROGRAM 'id > /tmp/pwned-by-root'", /superuser|pg_execute_server_program|permission/);
    await refused("COPY t (v) FROM '/etc/passwd'", /superuser|pg_read_server_files|permission/);
    await refused("COPY t TO '/tmp/pwned-by-root'", /superuser|pg_write_server_files|permission/);
    await refused("SELECT pg_read_file('/etc/passwd')", /permission denied/);
    await refused("SELECT lo_import('/etc/passwd')", /permission denied/);
    await refused("ALTER SYSTEM SET work_mem = '1GB'", /permission denied|superuser/);
    await refused('ALTER ROLE root SUPERUSER', /superuser/);
    await refused('GRANT pg_execute_server_program TO root', /admin option|permission|superuser/);
    await refused('GRANT pg_read_server_files TO root', /admin option|permission|superuser/);
    await refused('ALTER ROLE os_admin PASSWORD NULL', /superuser|permission/);
    await refused('CREATE EXTENSION IF NOT EXISTS plperlu', /permission|superuser|not available/);
    console.log(`engine exploits (postgresql root): ${tried} tried, ${refusals} refused`);
    await engine.root!.disableRoot();
    t.false(await engine.root!.isRootEnabled());
    await t.throwsAsync(connect(name, password, 'shop'));
    const again = await engine.root!.enableRoot('Chosen-root-pw-1');
    t.deepEqual(again, { name: 'root', password: 'Chosen-root-pw-1' });
    await (await connect('root', 'Chosen-root-pw-1', 'postgres')).end();
    await engine.root!.disableRoot();
    await engine.databases!.deleteDatabase('root_db');
    await engine.databases!.deleteDatabase('later');
  });

  test.serial('root enable on an instance whose root was the old `postgres` superuser: that role is demoted', async (t) => {
    const admin = (engine.lifecycle as PgLifecycle).admin;
    await admin.run((c) => c.query("CREATE ROLE postgres SUPERUSER LOGIN PASSWORD 'Legacy-root-1'"));
    t.true(await engine.root!.isRootEnabled(), 'the legacy root counts as enabled');
    await engine.root!.enableRoot();
    t.deepEqual(await admin.run(async (c) => (await c.query("SELECT rolsuper, rolcanlogin FROM pg_roles WHERE rolname = 'postgres'")).rows), [
      { rolsuper: false, rolcanlogin: false },
    ]);
    await t.throwsAsync(connect('postgres', 'Legacy-root-1', 'postgres'));
    await engine.root!.disableRoot();
    t.false(await engine.root!.isRootEnabled());
  });

  test.serial('configuration: overrides file read at reload, live values applied, removal restores defaults', async (t) => {
    const workMem = async () => (await once('SHOW work_mem'))[0].work_mem as string;
    t.is(await workMem(), '4MB');
    await engine.configuration!.updateOverrides({ work_mem: '8MB', max_connections: 70 }, false);
    t.is(await workMem(), '8MB');
    await engine.configuration!.applyOverrides({ work_mem: '16MB' });
    t.is(await workMem(), '16MB');
    // a new group replaces the live value with the file's
    await engine.configuration!.updateOverrides({ work_mem: '12MB' }, false);
    t.is(await workMem(), '12MB');
    const effective = await engine.configuration!.effectiveSettings();
    t.like(effective, {
      work_mem: '12MB',
      shared_buffers: '128MB',
      max_connections: 64,
      port,
      listen_addresses: '127.0.0.1',
      password_encryption: 'scram-sha-256',
    });
    t.false('include_dir' in effective);
    await engine.configuration!.updateOverrides({}, true);
    t.is(await workMem(), '4MB');
    t.false('work_mem' in (await engine.configuration!.effectiveSettings()));
    await t.throwsAsync(engine.configuration!.applyOverrides({ no_such_parameter: 1 }), { instanceOf: InvalidValueError });
    await t.throwsAsync(engine.configuration!.applyOverrides({ 'work_mem = 1; DROP DATABASE shop; --': 1 }), { instanceOf: InvalidValueError });
    await t.throwsAsync(engine.configuration!.applyOverrides({ work_mem: "1MB'; DROP DATABASE shop; --" }), { instanceOf: InvalidValueError });
    await t.throwsAsync(engine.configuration!.updateOverrides({ port: 1 }, false), { instanceOf: InvalidValueError });
    await t.throwsAsync(engine.configuration!.updateOverrides({ work_mem: "1MB'\ninclude '/etc/passwd" }, false), { instanceOf: InvalidValueError });
    t.true((await engine.databases!.listDatabases()).items.some((d) => d.name === 'shop'));
  });

  test.serial('injection through every name is refused or stored literally; the engine is unchanged', async (t) => {
    const before = await engine.databases!.listDatabases();
    const evil = ['x"; DROP DATABASE shop; --', "a'; DROP ROLE app; --", 'b" WITH SUPERUSER --', 'shop" TO "app'];
    for (const name of evil) {
      await engine.databases!.createDatabases([{ name }]).catch(() => undefined);
      await engine.users!.createUsers([{ name, host: '%', password: "p'; DROP DATABASE shop; --", databases: [] }]).catch(() => undefined);
      await engine.users!.grantAccess('app', '%', [name]).catch(() => undefined);
      await engine.databases!.createDatabases([{ name: `ok${evil.indexOf(name)}`, characterSet: name }]).catch(() => undefined);
    }
    const after = await engine.databases!.listDatabases();
    t.true(
      after.items.some((d) => d.name === 'shop'),
      'shop survived',
    );
    for (const d of before.items) t.true(after.items.some((x) => x.name === d.name));
    for (const d of after.items.filter((x) => !before.items.some((b) => b.name === x.name)))
      t.true(evil.includes(d.name), `only literal names were added: ${d.name}`);
    t.truthy(await engine.users!.getUser('app', '%'), 'app survived');
    const supers = await (engine.lifecycle as PgLifecycle).admin.run(
      async (a) => (await a.query<{ r: string }>('SELECT rolname AS r FROM pg_roles WHERE rolsuper ORDER BY 1')).rows,
    );
    t.deepEqual(supers, [{ r: 'os_admin' }], 'no user became a superuser');
    // a literally-named user exists under its literal name and logs in with its literal password
    t.deepEqual(await engine.users!.getUser(evil[1]!, '%'), { name: evil[1]!, host: '%', databases: [] });
    t.deepEqual(await once('SELECT current_user AS u', [evil[1]!, "p'; DROP DATABASE shop; --", 'postgres']), [{ u: evil[1]! }]);
    for (const bad of ['postgres', 'template0', 'template1', 'd'.repeat(64), 'nul\0byte']) {
      await t.throwsAsync(engine.databases!.createDatabases([{ name: bad }]), { instanceOf: InvalidValueError });
    }
    for (const bad of ['postgres', 'os_admin', 'root', 'pg_monitor', 'PUBLIC', 'u'.repeat(64)]) {
      await t.throwsAsync(engine.users!.createUsers([{ name: bad, host: '%', password: 'x', databases: [] }]), { instanceOf: InvalidValueError });
    }
    await t.throwsAsync(engine.users!.createUsers([{ name: 'app', host: '%', password: 'x', databases: [] }]), { instanceOf: InvalidValueError });
  });

  test.serial("read-only refuses users' writes, and lifting it allows them again", async (t) => {
    await engine.lifecycle.setReadOnly(true);
    await t.throwsAsync(once('INSERT INTO t VALUES (2, $$x$$)'), { message: /read-only transaction/ });
    t.is(await engine.lifecycle.health(), 'healthy', 'the agent still works');
    await engine.databases!.createDatabases([{ name: 'while_ro' }]);
    await engine.lifecycle.setReadOnly(false);
    await once('INSERT INTO t VALUES (2, $$x$$)');
    t.deepEqual(await once('SELECT count(*)::int AS n FROM t'), [{ n: 2 }]);
  });

  test.serial('restart keeps the data; stop makes health say shutdown', async (t) => {
    await engine.lifecycle.restart();
    t.deepEqual(await once('SELECT v FROM t WHERE id = 1'), [{ v: 'hello' }]);
    await engine.lifecycle.stop();
    t.is(await engine.lifecycle.health(), 'shutdown');
    await engine.lifecycle.start();
    t.is(await engine.lifecycle.health(), 'healthy');
    t.true(await engine.lifecycle.prepared());
  });

  test.serial("a start postgres refuses fails at once with pg_ctl's error and the server log's FATAL line", async (t) => {
    await engine.configuration!.updateOverrides({ shared_buffers: 'lots' }, false);
    const began = Date.now();
    const err = await t.throwsAsync(engine.lifecycle.restart());
    t.regex(
      err!.message,
      /^pg_ctl: could not start server; postgres: LOG: invalid value for parameter "shared_buffers": "lots"; FATAL: configuration file "\S+trove-overrides\.conf" contains errors$/,
    );
    t.notRegex(err!.message, /Examine the log output/);
    t.true(Date.now() - began < 60_000, `failed in ${Date.now() - began} ms`);
    await engine.configuration!.updateOverrides({}, true);
    await engine.lifecycle.start();
    t.is(await engine.lifecycle.health(), 'healthy');
  });
}
