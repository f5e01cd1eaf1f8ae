// A PostgreSQL major upgrade on real servers: a cluster made by PostgreSQL 13 (Debian bullseye's
// build unpacked beside bookworm's 15 by tools/lab/engine-versions.sh) with rows, a configuration
// override and a user, upgraded by pg_upgrade to the installed 15 with all of them kept; a target
// with no build, and an extension the new build lacks, fail before anything changes; a cluster
// pg_upgrade refuses (a reg* column) is rolled back to 13 with pg_upgrade's own words in the error.
import test from 'ava';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { createLogger } from '../../../src/common/log.js';
import { engineBuild } from '../../../test/helpers/engine-versions.js';
import { freeTcpPort } from '../../../test/helpers/ports.js';
import { reapOnExit } from '../../../test/helpers/reap.js';
import type { Engine } from '../../capabilities.js';
import { findBinDir } from './detect.js';
import { postgresqlEngine } from './manager.js';
import type { PgLifecycle } from './lifecycle.js';
import { versionNow } from './builds.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const installed = findBinDir();
const newVersion = installed ? versionNow({ root: '', binDir: installed })! : '';
const old = engineBuild('postgresql');
let engine: Engine;
let port: number;
let root: string;
let volume: string;

const query = async (sql: string, user = 'app', password = 'app-Secret-1') => {
  const c = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'shop', connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query(sql)).rows as Array<Record<string, unknown>>;
  } finally {
    await c.end();
  }
};
const serverMajor = async () => String((await query('SHOW server_version'))[0]!.server_version).split('.')[0];
const dataMajor = () => readFileSync(path.join(volume, 'data', 'PG_VERSION'), 'utf8').trim();

test.before(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'postgresql-upgrade-'));
  reapOnExit(root); // a crash of this file leaves no engine running
  chmodSync(root, 0o755);
  port = await freeTcpPort();
  volume = path.join(root, 'volume');
  mkdirSync(path.join(root, 'state'), { recursive: true });
  const raw = { DEFAULT: {}, postgresql: { mount_point: volume, port: String(port), bind_host: '127.0.0.1', version_dirs: old.dir } };
  engine = postgresqlEngine(raw, path.join(root, 'state'), log);
  await engine.lifecycle.prepare({
    memoryMb: 512,
    packages: [],
    databases: [{ name: 'shop' }],
    users: [{ name: 'app', host: '%', password: 'app-Secret-1', databases: ['shop'] }],
    overrides: { work_mem: '7MB' },
    dsVersion: old.version,
  });
  await query('CREATE TABLE items (id INT PRIMARY KEY, v TEXT)');
  await query("INSERT INTO items SELECT g, 'row ' || g FROM generate_series(1, 1000) g");
});

test.after.always(async () => {
  await engine?.lifecycle.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

test.serial('the instance is made by the side-by-side PostgreSQL 13 build', async (t) => {
  t.is(await serverMajor(), '13');
  t.is(dataMajor(), '13');
  t.true((engine.lifecycle as PgLifecycle).bin('postgres').startsWith(old.dir));
});

test.serial('a version with no build here fails before anything changes, naming the builds found', async (t) => {
  const err = await t.throwsAsync(engine.upgrade!.upgrade('16.4'));
  t.log(err!.message);
  t.regex(
    err!.message,
    /^No build of PostgreSQL 16\.4 is installed on this server \(found: \/usr\/lib\/postgresql\/15\/bin\/postgres \(15\.\d+\), \S+\/postgres \(13\.\d+\)\)/,
  );
  t.regex(err!.message, /nothing was changed/);
  t.is(await serverMajor(), '13');
  t.is((await query('SELECT count(*)::int AS n FROM items'))[0]!.n, 1000);
});

test.serial("a cluster pg_upgrade refuses is rolled back to 13, the error in pg_upgrade's words", async (t) => {
  // reg* columns hold system OIDs that pg_upgrade does not preserve: its --check refuses them
  await query('CREATE TABLE procs (p regproc)');
  await query("INSERT INTO procs VALUES ('now'::regproc)");
  const err = await t.throwsAsync(engine.upgrade!.upgrade(newVersion));
  t.log(err!.message);
  t.regex(
    err!.message,
    /^The upgrade from PostgreSQL 13\.\d+ .* to 15\.\d+ failed and was rolled back to the old binaries and data: pg_upgrade --check failed: /,
  );
  t.regex(err!.message, /Checking for reg\* data types in user tables fatal/);
  t.regex(err!.message, /Your installation contains one of the reg\* data types in user tables/);
  // the file pg_upgrade names, quoted: the offending column
  t.regex(err!.message, /tables_using_reg\.txt: .*In database: shop.*procs\.p/);
  t.is(await serverMajor(), '13');
  t.is(dataMajor(), '13');
  t.is((await query('SELECT count(*)::int AS n FROM items'))[0]!.n, 1000);
  t.deepEqual(
    readdirSync(volume).filter((n) => n.startsWith('data.')),
    [],
  );
  // pg_upgrade's logs stay for the operator, where the error says
  const kept = path.join(root, 'state', 'postgresql', 'pg_upgrade_output.d');
  t.true(existsSync(kept));
  t.true(err!.message.includes(`is in the file: ${kept}/`), err!.message);
  await query('DROP TABLE procs');
});

test.serial('an extension the new build lacks is found before the server stops: nothing changed, the fault names it', async (t) => {
  // an extension no build ships (its catalog row as CREATE EXTENSION would leave it)
  const admin = (engine.lifecycle as PgLifecycle).admin;
  await admin.run(
    (c) =>
      c.query(
        "INSERT INTO pg_extension (oid, extname, extowner, extnamespace, extrelocatable, extversion) SELECT 987654, 'trove_test_ext', 10, oid, false, '1.0' FROM pg_namespace WHERE nspname = 'public'",
      ),
    'shop',
  );
  const pid = readFileSync(path.join(volume, 'data', 'postmaster.pid'), 'utf8').split('\n')[0];
  const err = await t.throwsAsync(engine.upgrade!.upgrade(newVersion));
  t.log(err!.message);
  t.regex(
    err!.message,
    /^The PostgreSQL 15 build \(\/usr\/lib\/postgresql\/15\/bin\) lacks extensions the instance uses: trove_test_ext \(database shop\); .*Nothing was changed\.$/,
  );
  t.is(readFileSync(path.join(volume, 'data', 'postmaster.pid'), 'utf8').split('\n')[0], pid, 'the server was not even restarted');
  t.is(await serverMajor(), '13');
  await admin.run((c) => c.query('DELETE FROM pg_extension WHERE oid = 987654'), 'shop');
});

test.serial('pg_upgrade moves the cluster to the installed 15 with its rows, users and overrides; the old cluster removed', async (t) => {
  const done = await engine.upgrade!.upgrade(newVersion);
  t.is(done.version.split(' ')[0], newVersion);
  t.is(await serverMajor(), '15');
  t.is(dataMajor(), '15');
  t.true((engine.lifecycle as PgLifecycle).bin('postgres').startsWith(installed!));
  // the user logs in over TCP with its scram password, its rows all there
  const rows = await query('SELECT count(*)::int AS n, sum(id)::int AS s, max(v) AS m FROM items');
  t.deepEqual(rows[0], { n: 1000, s: 500500, m: 'row 999' });
  t.is((await query('SHOW work_mem'))[0]!.work_mem, '7MB');
  t.deepEqual(
    readdirSync(volume).filter((n) => n.startsWith('data.')),
    [],
  );
  t.is(await engine.lifecycle.health(), 'healthy');
  // a restart stays on 15: the build follows the cluster's major
  await engine.lifecycle.restart();
  t.is(await serverMajor(), '15');
  await query("INSERT INTO items VALUES (1001, 'after')");
  t.is((await query('SELECT count(*)::int AS n FROM items'))[0]!.n, 1001);
});
