// The MariaDB engine on a real mariadbd in a temp directory: prepare, users and databases from the
// create call, a TCP client connection, restart, stop, injection attempts.
import test from 'ava';
import { mkdtempSync, rmSync, statSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import mysql from 'mysql2/promise';
import { createLogger } from '../../../src/common/log.js';
import { freeTcpPort } from '../../../test/helpers/ports.js';
import { InvalidValueError, type Engine } from '../../capabilities.js';
import { mariadbEngine } from './manager.js';
import { MysqlLifecycle } from '../mysql-common/lifecycle.js';
import { reapOnExit } from '../../../test/helpers/reap.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
let engine: Engine;
let port: number;
let root: string;

test.before(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'mariadb-engine-'));
  reapOnExit(root); // a crash of this file leaves no engine running
  chmodSync(root, 0o755);
  port = await freeTcpPort();
  const raw = { DEFAULT: {}, mariadb: { mount_point: path.join(root, 'volume'), port: String(port), bind_host: '127.0.0.1' } };
  engine = mariadbEngine(raw, path.join(root, 'state'), log);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(path.join(root, 'state'), { recursive: true });
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
  rmSync(root, { recursive: true, force: true });
});

const connect = (user = 'app', password = 'app-Secret-1', database = 'shop') =>
  mysql.createConnection({ host: '127.0.0.1', port, user, password, database });

test.serial('prepare gives a server the created user reaches over TCP, writing and reading a row', async (t) => {
  const c = await connect();
  await c.query('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))');
  await c.query('INSERT INTO t VALUES (1, ?)', ['hello']);
  const [rows] = await c.query('SELECT v FROM t WHERE id = 1');
  t.deepEqual(rows, [{ v: 'hello' }]);
  await c.end();
  t.is(await engine.lifecycle.health(), 'healthy');
  const lc = engine.lifecycle as MysqlLifecycle;
  t.is(statSync(lc.paths.adminPasswordFile).mode & 0o777, 0o600);
  const admin = await lc.admin.connect();
  const [anon] = await admin.query("SELECT User FROM mysql.user WHERE User = ''");
  t.deepEqual(anon, []);
  const [cnf] = await admin.query('SELECT @@innodb_buffer_pool_size AS pool');
  t.is(Number((cnf as Array<{ pool: number }>)[0]!.pool), 256 * 1024 * 1024);
  await admin.end();
  await t.throwsAsync(mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password: '' }), undefined, 'root has no empty password');
});

test.serial('databases and users: list with paging, grants, passwords, delete', async (t) => {
  await engine.databases!.createDatabases([{ name: 'a1' }, { name: 'a2' }, { name: 'a3' }]);
  const first = await engine.databases!.listDatabases(2);
  t.deepEqual(first.items.map((d) => d.name), ['a1', 'a2']);
  t.is(first.nextMarker, 'a2');
  const second = await engine.databases!.listDatabases(2, first.nextMarker!);
  t.deepEqual(second.items.map((d) => d.name), ['a3', 'shop']);
  await engine.users!.createUsers([{ name: 'bob', host: '%', password: 'bob-pw-1', databases: ['a1'] }]);
  t.deepEqual(await engine.users!.getUser('bob', '%'), { name: 'bob', host: '%', databases: ['a1'] });
  await engine.users!.grantAccess('bob', '%', ['a2']);
  t.deepEqual((await engine.users!.listAccess('bob', '%')).map((d) => d.name), ['a1', 'a2']);
  await engine.users!.revokeAccess('bob', '%', 'a1');
  t.deepEqual((await engine.users!.listAccess('bob', '%')).map((d) => d.name), ['a2']);
  await engine.users!.changePasswords([{ name: 'bob', host: '%', password: 'bob-pw-2' }]);
  await t.throwsAsync(connect('bob', 'bob-pw-1', 'a2'));
  const c = await connect('bob', 'bob-pw-2', 'a2');
  await c.end();
  const users = await engine.users!.listUsers();
  t.deepEqual(users.items.map((u) => `${u.name}@${u.host}`), ['app@%', 'bob@%']);
  await engine.users!.deleteUser('bob', '%');
  t.is(await engine.users!.getUser('bob', '%'), null);
  await engine.databases!.deleteDatabase('a3');
  t.false((await engine.databases!.listDatabases()).items.some((d) => d.name === 'a3'));
});

test.serial("grants: '_' and '%' in a database name are literal (a grant on mysq_ is not one on mysql, % is not every database)", async (t) => {
  await engine.databases!.createDatabases([{ name: 'mysq_' }, { name: '%' }, { name: 'test_db' }, { name: 'testXdb' }]);
  await engine.users!.createUsers([{ name: 'eve', host: '%', password: 'eve-Secret-1', databases: ['mysq_'] }]);
  await engine.users!.grantAccess('eve', '%', ['%', 'test_db']);
  t.deepEqual((await engine.users!.listAccess('eve', '%')).map((d) => d.name).sort(), ['%', 'mysq_', 'test_db'], 'access lists the names as given');
  const c = await connect('eve', 'eve-Secret-1', 'mysq_');
  try {
    await t.throwsAsync(c.query('SELECT User FROM mysql.user'), { message: /denied/ }, 'no reach into the mysql schema');
    await t.throwsAsync(c.query('CREATE TABLE testXdb.t (id INT)'), { message: /denied/ }, 'test_db is not test?db');
    await t.throwsAsync(c.query('CREATE TABLE shop.t2 (id INT)'), { message: /denied/ }, '% is not every database');
    await c.query('CREATE TABLE `test_db`.t (id INT)');
    await c.query('CREATE TABLE `%`.t (id INT)');
    await c.query('CREATE TABLE `mysq_`.t (id INT)');
  } finally {
    await c.end();
  }
  await engine.users!.revokeAccess('eve', '%', 'mysq_');
  t.deepEqual((await engine.users!.listAccess('eve', '%')).map((d) => d.name).sort(), ['%', 'test_db'], 'revoke takes the literal grant');
  await engine.users!.deleteUser('eve', '%');
  await engine.databases!.deleteDatabase('mysq_');
  await engine.databases!.deleteDatabase('%');
  await engine.databases!.deleteDatabase('test_db');
  await engine.databases!.deleteDatabase('testXdb');
});

test.serial('root enable returns a working password; disable removes it', async (t) => {
  t.false(await engine.root!.isRootEnabled());
  const { name, password } = await engine.root!.enableRoot();
  t.is(name, 'root');
  const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password });
  await c.end();
  t.true(await engine.root!.isRootEnabled());
  await engine.root!.disableRoot();
  t.false(await engine.root!.isRootEnabled());
  await t.throwsAsync(mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password }));
});

test.serial('injection through every name is refused or stored literally; the engine is unchanged', async (t) => {
  const before = await engine.databases!.listDatabases();
  const evil = ['x`; DROP DATABASE shop; --', "a'@'%", 'b"; DROP USER app; --', 'shop`.* TO `app'];
  for (const name of evil) {
    await engine.databases!.createDatabases([{ name }]).catch(() => undefined);
    await engine.users!.createUsers([{ name, host: '%', password: "p'; DROP DATABASE shop; --", databases: [] }]).catch(() => undefined);
    await engine.users!.grantAccess('app', '%', [name]).catch(() => undefined);
  }
  const after = await engine.databases!.listDatabases();
  t.true(after.items.some((d) => d.name === 'shop'), 'shop survived');
  for (const d of before.items) t.true(after.items.some((x) => x.name === d.name));
  t.truthy(await engine.users!.getUser('app', '%'), 'app survived');
  for (const d of after.items.filter((x) => !before.items.some((b) => b.name === x.name))) {
    t.true(evil.includes(d.name), `only literal names were added: ${d.name}`);
  }
  for (const bad of ['mysql', 'information_schema', 'a'.repeat(65)]) {
    await t.throwsAsync(engine.databases!.createDatabases([{ name: bad }]), { instanceOf: InvalidValueError });
  }
  for (const bad of ['root', 'os_admin', 'u'.repeat(81)]) {
    await t.throwsAsync(engine.users!.createUsers([{ name: bad, host: '%', password: 'x', databases: [] }]), { instanceOf: InvalidValueError });
  }
});

test.serial('restart keeps the data; stop makes health say shutdown', async (t) => {
  await engine.lifecycle.restart();
  const c = await connect();
  const [rows] = await c.query('SELECT v FROM t WHERE id = 1');
  t.deepEqual(rows, [{ v: 'hello' }]);
  await c.end();
  await engine.lifecycle.stop();
  t.is(await engine.lifecycle.health(), 'shutdown');
  await engine.lifecycle.start();
  t.is(await engine.lifecycle.health(), 'healthy');
});

test.serial('a start mariadbd refuses fails as soon as mariadbd exits, quoting its error (not after start_timeout)', async (t) => {
  await engine.configuration!.updateOverrides({ character_set_server: 'klingon' }, true);
  const began = Date.now();
  const err = await t.throwsAsync(engine.lifecycle.restart());
  t.regex(err!.message, /^mariadbd exited while starting: mariadbd: Character set 'klingon' is not a compiled character set/);
  t.notRegex(err!.message, /Aborting|\[Note\]/);
  t.true(Date.now() - began < 30_000, `failed in ${Date.now() - began} ms, start_timeout is 120 s`);
  t.regex((err as Error & { logTail?: string }).logTail ?? '', /klingon/);
  await engine.configuration!.updateOverrides({}, true);
  await engine.lifecycle.start();
  t.is(await engine.lifecycle.health(), 'healthy');
});
