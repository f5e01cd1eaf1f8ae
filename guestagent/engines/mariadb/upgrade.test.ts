// In-place upgrades of a real mariadbd: an instance made on the side-by-side 10.11 build
// (tools/lab/engine-versions.sh) moves to the installed one with its rows and mariadb-upgrade's
// marker; a version with no build here and a build that cannot start both leave the server
// running its old version with its data, and say why.
import test from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import mysql from 'mysql2/promise';
import { createLogger } from '../../../src/common/log.js';
import { freeTcpPort } from '../../../test/helpers/ports.js';
import { reapOnExit } from '../../../test/helpers/reap.js';
import { engineBuild, failingBuild } from '../../../test/helpers/engine-versions.js';
import type { Engine } from '../../capabilities.js';
import type { MysqlLifecycle } from '../mysql-common/lifecycle.js';
import { serverVersion } from '../mysql-common/binaries.js';
import { mariadbEngine } from './manager.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
let engine: Engine;
let lc: MysqlLifecycle;
let port: number;
let root: string;
let installed: string;
const old = engineBuild('mariadb');

test.before(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'mariadb-upgrade-'));
  reapOnExit(root);
  chmodSync(root, 0o755);
  installed = (await serverVersion('/usr/sbin/mariadbd'))!;
  // a build that says it is 10.11.99 and cannot start (the engine's own words on stderr)
  const broken = path.join(root, 'broken');
  failingBuild(broken, 'usr/sbin/mariadbd', {
    versionLine: 'mariadbd  Ver 10.11.99-MariaDB for debian-linux-gnu',
    errorLine: '2026-12-07  1:00:00 0 [ERROR] InnoDB: forced failure: unsupported redo log format',
    stderr: true,
  });
  port = await freeTcpPort();
  const raw = {
    DEFAULT: {},
    mariadb: { mount_point: path.join(root, 'volume'), port: String(port), bind_host: '127.0.0.1', version_dirs: `${old.dir},${broken}` },
  };
  mkdirSync(path.join(root, 'state'), { recursive: true });
  engine = mariadbEngine(raw, path.join(root, 'state'), log);
  lc = engine.lifecycle as MysqlLifecycle;
  await lc.prepare({
    memoryMb: 512,
    packages: [],
    databases: [{ name: 'shop' }],
    users: [{ name: 'app', host: '%', password: 'app-Secret-1', databases: ['shop'] }],
    overrides: {},
    dsVersion: old.version,
  });
  const c = await connect();
  await c.query('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))');
  for (let i = 1; i <= 100; i++) await c.query('INSERT INTO t VALUES (?, ?)', [i, `row-${i}`]);
  await c.end();
});

test.after.always(async () => {
  await engine?.lifecycle.stop();
  rmSync(root, { recursive: true, force: true });
});

const connect = () => mysql.createConnection({ host: '127.0.0.1', port, user: 'app', password: 'app-Secret-1', database: 'shop' });
async function rows(): Promise<number> {
  const c = await connect();
  try {
    const [r] = await c.query('SELECT COUNT(*) AS n FROM t');
    return Number((r as Array<{ n: number }>)[0]!.n);
  } finally {
    await c.end();
  }
}

test.serial('the instance runs the build of its version (the side-by-side one)', async (t) => {
  t.true((await lc.runningVersion()).startsWith(old.version));
  t.not(old.version, installed);
});

test.serial('a version with no build here: refused before anything changed, naming the builds found', async (t) => {
  const err = await t.throwsAsync(engine.upgrade!.upgrade('10.11.98'));
  t.regex(err!.message, /No build of version 10\.11\.98 is installed on this server/);
  t.true(err!.message.includes(`${old.dir}/usr/sbin/mariadbd (${old.version})`), err!.message);
  t.true(err!.message.includes(`/usr/sbin/mariadbd (${installed})`), err!.message);
  t.true((await lc.runningVersion()).startsWith(old.version));
  t.is(await rows(), 100);
});

test.serial('a build that cannot start: rolled back to the old build and data, the engine saying why', async (t) => {
  const err = await t.throwsAsync(engine.upgrade!.upgrade('10.11.99'));
  t.regex(err!.message, new RegExp(`The upgrade from ${old.version.replace(/\./g, '\\.')}\\S* to 10\\.11\\.99 failed and was rolled back`));
  t.regex(err!.message, /forced failure: unsupported redo log format/);
  t.true((await lc.runningVersion()).startsWith(old.version));
  t.is(await lc.health(), 'healthy');
  t.is(await rows(), 100);
});

test.serial('an upgrade to the installed patch release keeps the rows and runs mariadb-upgrade', async (t) => {
  const done = await engine.upgrade!.upgrade(installed);
  t.true(done.version.startsWith(installed), done.version);
  t.true((await lc.runningVersion()).startsWith(installed));
  t.is(await rows(), 100);
  const marker = readFileSync(path.join(lc.paths.dataDir, 'mysql_upgrade_info'), 'utf8');
  // mariadb-upgrade ran and left its marker: within a release series (10.11) it has nothing to change and says so
  t.regex(marker, /^10\.11\.\d+-MariaDB/, `mariadb-upgrade's marker: ${marker}`);
  // the new build is kept across restarts
  await lc.restart();
  t.true((await lc.runningVersion()).startsWith(installed));
  const c = await connect();
  await c.query('INSERT INTO t VALUES (101, ?)', ['after']);
  await c.end();
  t.is(await rows(), 101);
});
