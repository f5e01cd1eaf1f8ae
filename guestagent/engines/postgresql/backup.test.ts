// Backups of a real PostgreSQL server in a temp dir: rows written (while a writer keeps inserting
// during the backup), pg_basebackup through the pipeline into the local store, restored into a
// second, freshly prepared server that then has the same row counts and checksums, the source's
// users, and its own port, configuration files and admin access, across a restart.
import test from 'ava';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { createLogger } from '../../../src/common/log.js';
import { ObjectDirectory } from '../../../src/common/object-directory.js';
import { freeTcpPort } from '../../../test/helpers/ports.js';
import { runBackup } from '../../backup/run-backup.js';
import { runRestore } from '../../backup/run-restore.js';
import { LocalBackupStorage } from '../../backup/storage/local.js';
import type { Backup, Engine } from '../../capabilities.js';
import { findBinDir } from './detect.js';
import { postgresqlEngine } from './manager.js';
import type { PgLifecycle } from './lifecycle.js';
import { PG_FORMAT } from './backup.js';
import { reapOnExit } from '../../../test/helpers/reap.js';

const KEY = 'backup-service-key';
const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
let root: string;
const servers: Engine[] = [];

interface Server {
  engine: Engine;
  lc: PgLifecycle;
  backup: Backup;
  port: number;
  mount: string;
}

async function server(name: string): Promise<Server> {
  const port = await freeTcpPort();
  const mount = path.join(root, name, 'volume');
  mkdirSync(path.join(root, name, 'state'), { recursive: true });
  const engine = postgresqlEngine(
    { DEFAULT: {}, postgresql: { mount_point: mount, port: String(port), bind_host: '127.0.0.1' } },
    path.join(root, name, 'state'),
    log,
  );
  servers.push(engine);
  return { engine, lc: engine.lifecycle as PgLifecycle, backup: engine.backup!, port, mount };
}

async function query<T extends pg.QueryResultRow>(
  port: number,
  sql: string,
  params: unknown[] = [],
  user = 'app',
  password = 'app-Secret-1',
  database = 'shop',
): Promise<T[]> {
  const c = new pg.Client({ host: '127.0.0.1', port, user, password, database, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

const CHECKSUM = "SELECT count(*)::int AS n, md5(string_agg(o::text, ',' ORDER BY id)) AS sum FROM orders o";
const summary = async (port: number) => ({
  orders: (await query(port, CHECKSUM))[0],
  notes: await query(port, 'SELECT id, body FROM notes ORDER BY id'),
  logs: (await query(port, 'SELECT count(*)::int AS n, coalesce(max(id), 0)::int AS last FROM events', [], 'app', 'app-Secret-1', 'logs'))[0],
});

const storage = () => new LocalBackupStorage(path.join(root, 'objects'));

const restore = (target: Server, location: string, checksum: string, id: string) =>
  runRestore({
    storage: storage(),
    location,
    checksum,
    serviceKey: KEY,
    stagingDir: target.backup.stagingDir(id),
    sink: (dir, meta) => target.backup.restoreStream(meta.format, dir),
    commit: (dir, meta) => {
      manifests.push(existsSync(path.join(dir, 'backup_manifest')));
      return target.backup.installRestored(meta.format, dir);
    },
  });
const manifests: boolean[] = [];

let source: Server;

if (!findBinDir()) {
  if (process.env.TROVE_TEST_SKIP_ENGINES) test.skip('PostgreSQL backups (not installed; TROVE_TEST_SKIP_ENGINES is set)', () => undefined);
  else test('PostgreSQL is installed', (t) => t.fail('no /usr/lib/postgresql/<version>/bin/postgres: install postgresql, or set TROVE_TEST_SKIP_ENGINES=1'));
} else {
  test.before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'postgresql-backup-'));
    reapOnExit(root); // a crash of this file leaves no engine running
    chmodSync(root, 0o755);
    source = await server('source');
    await source.engine.lifecycle.prepare({
      memoryMb: 256,
      packages: [],
      databases: [{ name: 'shop' }, { name: 'logs' }],
      users: [{ name: 'app', host: '%', password: 'app-Secret-1', databases: ['shop', 'logs'] }],
      overrides: {},
    });
    await query(source.port, 'CREATE TABLE orders (id INT PRIMARY KEY, customer TEXT, amount NUMERIC(10,2), payload BYTEA, doc JSONB)');
    await query(source.port, 'CREATE TABLE notes (id SERIAL PRIMARY KEY, body TEXT)');
    await query(
      source.port,
      `INSERT INTO orders SELECT i, 'customer-' || (i % 97), i * 1.37, convert_to(repeat('payload ' || i || ' ', 8), 'UTF8'), jsonb_build_object('i', i, 'tag', 'x' || (i % 7))
                               FROM generate_series(0, 19999) i`,
    );
    await query(source.port, "INSERT INTO notes (body) VALUES ('first'), ($$second, with a quote ' and a backslash \\$$)");
    await query(source.port, 'CREATE TABLE events (id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ DEFAULT now())', [], 'app', 'app-Secret-1', 'logs');
  });

  test.after.always(async () => {
    for (const s of servers) await s.lifecycle.stop().catch(() => undefined);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test.serial('pg_basebackup → local store → a second, freshly prepared server: same data, its own port, files and admin', async (t) => {
    // a writer keeps inserting while the backup runs: the copy must still be consistent
    let writing = true;
    const writer = (async () => {
      while (writing) await query(source.port, 'INSERT INTO events DEFAULT VALUES', [], 'app', 'app-Secret-1', 'logs');
    })();
    const src = await source.backup.backupStream();
    t.is(src.format, PG_FORMAT);
    const r = await runBackup({
      source: src.stream,
      format: src.format,
      storage: storage(),
      container: 'database_backups',
      name: 'pg-1',
      serviceKey: KEY,
      segmentSize: 4 * 1024 * 1024,
    });
    writing = false;
    await writer;
    await new Promise((r) => setTimeout(r, 200));
    t.deepEqual(
      await source.lc.admin.run(async (c) => (await c.query('SELECT slot_name FROM pg_replication_slots')).rows),
      [],
      'the temporary WAL slot is gone with the backup',
    );
    t.true(r.rawSize > 4 * 1024 * 1024, `raw ${r.rawSize}`);
    t.regex(r.location, /pg-1\.pg-tar\.(zst|gz)\.enc$/);
    const expected = { orders: (await query(source.port, CHECKSUM))[0], notes: await query(source.port, 'SELECT id, body FROM notes ORDER BY id') };
    t.is((expected.orders as { n: number }).n, 20000);
    // the source changes after the backup
    await query(source.port, 'DELETE FROM orders WHERE id < 100');

    const target = await server('target');
    await target.engine.lifecycle.prepare({
      memoryMb: 512,
      packages: [],
      databases: [{ name: 'other' }],
      users: [{ name: 'tuser', host: '%', password: 'target-Secret-1', databases: ['other'] }],
      overrides: { work_mem: '6MB' },
    });
    const own = Object.fromEntries(
      ['postgresql.conf', 'pg_hba.conf', 'pg_ident.conf', 'conf.d/trove-overrides.conf'].map((f) => [
        f,
        readFileSync(path.join(target.lc.paths.dataDir, f), 'utf8'),
      ]),
    );

    await restore(target, r.location, r.checksum, 'pg-1');
    t.deepEqual(
      readdirSync(target.mount).filter((f) => f.startsWith('.restore-') || f.includes('.replaced-')),
      [],
      'staging and the old data dir removed',
    );
    for (const [f, body] of Object.entries(own)) t.is(readFileSync(path.join(target.lc.paths.dataDir, f), 'utf8'), body, `${f} is the target's`);
    t.is(statSync(target.lc.paths.dataDir).mode & 0o777, 0o700);
    if (process.getuid?.() === 0) {
      const uid = Number(readFileSync('/etc/passwd', 'utf8').match(/^postgres:[^:]*:(\d+):/m)?.[1]);
      t.is(statSync(path.join(target.lc.paths.dataDir, 'base')).uid, uid, "the files are the postgres OS user's");
    }

    await target.engine.lifecycle.start();
    t.is(await target.engine.lifecycle.health(), 'healthy');
    t.like(await summary(target.port), expected, 'the rows as they were at the backup');
    t.deepEqual(manifests, [true], 'the tar carried its manifest (checked with pg_verifybackup)');
    // the rows the writer committed up to the backup's end, without a gap
    const events = (await summary(target.port)).logs as { n: number; last: number };
    const sourceEvents = (await summary(source.port)).logs as { n: number };
    t.is(events.n, events.last);
    t.true(events.n <= sourceEvents.n);
    // the target's own settings (port, memory, its configuration group), not the source's
    const show = await target.lc.admin.run(
      async (c) =>
        (await c.query("SELECT current_setting('port') AS port, current_setting('shared_buffers') AS sb, current_setting('work_mem') AS wm")).rows[0],
    );
    t.deepEqual(show, { port: String(target.port), sb: '128MB', wm: '6MB' });
    // the data's users are the backup's; the target's own are gone with its old data
    await t.throwsAsync(query(target.port, 'SELECT 1', [], 'tuser', 'target-Secret-1', 'other'));
    t.deepEqual(
      (await target.engine.databases!.listDatabases()).items.map((d) => d.name),
      ['logs', 'shop'],
    );
    // the agent manages it, also after a restart
    await target.engine.databases!.createDatabases([{ name: 'extra' }]);
    await target.engine.users!.createUsers([{ name: 'newbie', host: '%', password: 'newbie-Secret-1', databases: ['extra'] }]);
    await target.engine.lifecycle.restart();
    t.is(await target.engine.lifecycle.health(), 'healthy');
    t.deepEqual(await query(target.port, 'SELECT current_user AS u', [], 'newbie', 'newbie-Secret-1', 'extra'), [{ u: 'newbie' }]);
    t.like(await summary(target.port), expected);
    // writes go on from the restored point
    await query(target.port, "INSERT INTO notes (body) VALUES ('after restore')");
    t.is((await query<{ n: number }>(target.port, 'SELECT count(*)::int AS n FROM notes'))[0]!.n, 3);
    // and the restored server can itself be backed up
    const again = await target.backup.backupStream();
    const r2 = await runBackup({
      source: again.stream,
      format: again.format,
      storage: storage(),
      container: 'database_backups',
      name: 'pg-2',
      serviceKey: KEY,
    });
    t.true(r2.size > 0);
  });

  test.serial('an instance prepared before backups (no replication line in pg_hba.conf) is backed up after the agent adds it', async (t) => {
    const hba = path.join(source.lc.paths.dataDir, 'pg_hba.conf');
    writeFileSync(hba, readFileSync(hba, 'utf8').replace(/^local\s+replication.*\n/m, ''));
    await source.lc.admin.run((c) => c.query('SELECT pg_reload_conf()'));
    const src = await source.backup.backupStream();
    const r = await runBackup({ source: src.stream, format: src.format, storage: storage(), container: 'database_backups', name: 'pg-old', serviceKey: KEY });
    t.true(r.rawSize > 1024 * 1024);
    t.regex(readFileSync(hba, 'utf8'), /^local\s+replication\s+os_admin\s+peer/m);
  });

  test.serial('a pg_basebackup that fails fails the backup: nothing stored, the WAL slot released', async (t) => {
    const hba = path.join(source.lc.paths.dataDir, 'pg_hba.conf');
    const good = readFileSync(hba, 'utf8');
    writeFileSync(hba, good.replace(/^local\s+replication\s+os_admin\s+peer.*$/m, 'local   replication  os_admin  reject'));
    await source.lc.admin.run((c) => c.query('SELECT pg_reload_conf()'));
    await new Promise((r) => setTimeout(r, 500));
    const src = await source.backup.backupStream();
    await t.throwsAsync(runBackup({ source: src.stream, format: src.format, storage: storage(), container: 'refused_backups', name: 'x', serviceKey: KEY }), {
      message: /pg_basebackup exited with code/,
    });
    writeFileSync(hba, good);
    await source.lc.admin.run((c) => c.query('SELECT pg_reload_conf()'));
    const dir = new ObjectDirectory(path.join(root, 'objects'));
    t.deepEqual([...(await dir.listObjects('refused_backups')), ...(await dir.listObjects('refused_backups_segments'))], []);
    await new Promise((r) => setTimeout(r, 200));
    t.deepEqual(await source.lc.admin.run(async (c) => (await c.query('SELECT slot_name FROM pg_replication_slots')).rows), []);
  });

  test.serial('a backup of a stopped server fails and stores nothing; a restore of another format is refused', async (t) => {
    const dead = await server('dead');
    await dead.engine.lifecycle.prepare({ memoryMb: 256, packages: [], databases: [], users: [], overrides: {} });
    await dead.engine.lifecycle.stop();
    // refused before pg_basebackup starts: the WAL slot needs the server
    await t.throwsAsync(async () => {
      const src = await dead.backup.backupStream();
      await runBackup({ source: src.stream, format: src.format, storage: storage(), container: 'dead_backups', name: 'x', serviceKey: KEY });
    });
    const dir = new ObjectDirectory(path.join(root, 'objects'));
    t.deepEqual([...(await dir.listObjects('dead_backups')), ...(await dir.listObjects('dead_backups_segments'))], []);
    await t.throwsAsync(dead.backup.restoreStream('xbstream', dead.backup.stagingDir('y')), { message: /cannot restore a backup of format 'xbstream'/ });
  });
}
