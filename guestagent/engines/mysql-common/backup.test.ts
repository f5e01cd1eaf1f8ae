// Backups of a real mariadbd in a temp dir: rows written, a physical backup (mariadb-backup)
// through the pipeline into the local store, restored into a new data directory on which a second
// mariadbd starts with the same CHECKSUM TABLE values and the source's users; then the logical
// fallback (mariadb-dump) into a third, freshly prepared server; then a chain of a full and two
// incremental backups restored up to each incremental.
import test from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import mysql from 'mysql2/promise';
import { createLogger } from '../../../src/common/log.js';
import { configSection } from '../../../src/common/config/schema.js';
import { ObjectDirectory } from '../../../src/common/object-directory.js';
import { freeTcpPort } from '../../../test/helpers/ports.js';
import { runBackup } from '../../backup/run-backup.js';
import { runChainRestore, runRestore } from '../../backup/run-restore.js';
import { LocalBackupStorage } from '../../backup/storage/local.js';
import { mariadbSection } from '../mariadb/config.js';
import { MysqlLifecycle } from './lifecycle.js';
import { MysqlBackup } from './backup.js';
import { NotSupportedError } from '../../capabilities.js';
import { reapOnExit } from '../../../test/helpers/reap.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const KEY = 'backup-service-key';
let root: string;
const servers: MysqlLifecycle[] = [];

async function server(name: string) {
  const port = await freeTcpPort();
  const c = configSection({ mariadb: { mount_point: path.join(root, name, 'volume'), port: String(port), bind_host: '127.0.0.1' } }, 'mariadb', mariadbSection);
  const state = path.join(root, name, 'state');
  mkdirSync(state, { recursive: true });
  const lifecycle = new MysqlLifecycle(c, state, log, 80);
  servers.push(lifecycle);
  return { c, lifecycle, port, backup: (method: 'auto' | 'logical' = 'auto') => new MysqlBackup(c, lifecycle, log, { method }) };
}

const prepare = (l: MysqlLifecycle) =>
  l.prepare({
    memoryMb: 256,
    packages: [],
    databases: [{ name: 'shop' }],
    users: [{ name: 'app', host: '%', password: 'app-Secret-1', databases: ['shop'] }],
    overrides: {},
  });

async function checksums(l: MysqlLifecycle): Promise<Record<string, unknown>> {
  const c = await l.admin.connect();
  try {
    const [rows] = await c.query('CHECKSUM TABLE shop.orders, shop.notes EXTENDED');
    const [[count]] = (await c.query('SELECT COUNT(*) AS n FROM shop.orders')) as unknown as [[{ n: number }]];
    return {
      checksums: Object.fromEntries((rows as Array<{ Table: string; Checksum: number }>).map((r) => [r.Table, String(r.Checksum)])),
      rows: Number(count.n),
    };
  } finally {
    await c.end();
  }
}

let source: Awaited<ReturnType<typeof server>>;
let expected: Record<string, unknown>;
const storage = () => new LocalBackupStorage(path.join(root, 'objects'));

test.before(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'mysql-backup-'));
  reapOnExit(root); // a crash of this file leaves no engine running
  chmodSync(root, 0o755);
  source = await server('source');
  await prepare(source.lifecycle);
  const c = await mysql.createConnection({ host: '127.0.0.1', port: source.port, user: 'app', password: 'app-Secret-1', database: 'shop' });
  await c.query('CREATE TABLE orders (id INT PRIMARY KEY, customer VARCHAR(40), amount DECIMAL(10,2), payload BLOB) ENGINE=InnoDB');
  await c.query('CREATE TABLE notes (id INT PRIMARY KEY AUTO_INCREMENT, body TEXT) ENGINE=Aria');
  for (let batch = 0; batch < 20; batch++) {
    const rows = Array.from({ length: 1000 }, (_, i) => {
      const id = batch * 1000 + i;
      return [id, `customer-${id % 97}`, (id * 1.37).toFixed(2), Buffer.from(`payload ${id} `.repeat(8))];
    });
    await c.query('INSERT INTO orders VALUES ?', [rows]);
  }
  await c.query("INSERT INTO notes (body) VALUES ('first'), ('second, with a quote '' and a backslash \\\\')");
  await c.end();
  expected = await checksums(source.lifecycle);
});

test.after.always(async () => {
  for (const s of servers) await s.stop().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

test.serial('physical: mariadb-backup → local store → new data dir; a second mariadbd has the same checksums and users', async (t) => {
  const b = source.backup();
  t.is(b.method(), 'xbstream');
  const src = await b.backupStream();
  const r = await runBackup({
    source: src.stream,
    format: src.format,
    storage: storage(),
    container: 'database_backups',
    name: 'phys-1',
    serviceKey: KEY,
    segmentSize: 8 * 1024 * 1024,
  });
  t.true(r.rawSize > 1024 * 1024);
  t.true(r.location.endsWith('.xbstream.zst.enc') || r.location.endsWith('.xbstream.gz.enc'));

  const target = await server('target');
  const tb = target.backup();
  const staging = tb.stagingDir('phys-1');
  await runRestore({
    storage: storage(),
    location: r.location,
    checksum: r.checksum,
    serviceKey: KEY,
    stagingDir: staging,
    sink: (dir, meta) => tb.restoreStream(meta.format, dir),
    commit: (dir, meta) => tb.installRestored(meta.format, dir),
  });
  t.deepEqual(
    readdirSync(target.c.mount_point).filter((f) => f.startsWith('.restore-')),
    [],
    'staging removed',
  );
  await target.lifecycle.start();
  t.is(await target.lifecycle.health(), 'healthy');
  t.deepEqual(await checksums(target.lifecycle), expected);
  const app = await mysql.createConnection({ host: '127.0.0.1', port: target.port, user: 'app', password: 'app-Secret-1', database: 'shop' });
  const [notes] = await app.query('SELECT body FROM notes ORDER BY id');
  t.deepEqual(notes, [{ body: 'first' }, { body: "second, with a quote ' and a backslash \\" }]);
  await app.end();
  await target.lifecycle.stop();
});

test.serial('logical fallback: mariadb-dump → restore into a freshly prepared server; os_admin still manages it', async (t) => {
  const b = source.backup('logical');
  t.is(b.method(), 'sql');
  const src = await b.backupStream();
  const r = await runBackup({ source: src.stream, format: src.format, storage: storage(), container: 'database_backups', name: 'logical-1', serviceKey: KEY });
  t.true(r.location.includes('.sql.'));
  const target = await server('logical');
  await prepare(target.lifecycle);
  const tb = target.backup('logical');
  await runRestore({
    storage: storage(),
    location: r.location,
    serviceKey: KEY,
    stagingDir: tb.stagingDir('logical-1'),
    sink: (dir, meta) => tb.restoreStream(meta.format, dir),
    commit: (dir, meta) => tb.installRestored(meta.format, dir),
  });
  t.deepEqual(await checksums(target.lifecycle), expected);
  t.is(await target.lifecycle.health(), 'healthy');
  await target.lifecycle.restart();
  t.is(await target.lifecycle.health(), 'healthy', 'os_admin works after a restart too');
});

test.serial('a backup of a stopped server fails and stores nothing', async (t) => {
  const dead = await server('dead');
  await prepare(dead.lifecycle);
  await dead.lifecycle.stop();
  const src = await dead.backup().backupStream();
  await t.throwsAsync(runBackup({ source: src.stream, format: src.format, storage: storage(), container: 'dead_backups', name: 'x', serviceKey: KEY }), {
    message: /mariadb-backup exited with code/,
  });
  const dir = new ObjectDirectory(path.join(root, 'objects'));
  t.deepEqual([...(await dir.listObjects('dead_backups')), ...(await dir.listObjects('dead_backups_segments'))], []);
});

test.serial(
  "a staged physical backup mariadb-backup cannot prepare: 'mariadb-backup --prepare failed: <its error>', the data directory untouched",
  async (t) => {
    const target = await server('unpreparable');
    await prepare(target.lifecycle);
    const staging = path.join(root, 'unpreparable', 'volume', '.restore-x');
    mkdirSync(staging, { recursive: true });
    writeFileSync(path.join(staging, 'xtrabackup_checkpoints'), 'backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = 1\n');
    const err = await t.throwsAsync(target.backup().installRestored('xbstream', staging));
    t.regex(err!.message, /^mariadb-backup --prepare failed: \[00\] FATAL ERROR: \S+ \S+ Can't open backup-my\.cnf for reading$/);
    t.notRegex(err!.message, /exited with code/, "the tool's words, not only its exit code");
    t.is(await target.lifecycle.health(), 'healthy', 'the running server was not stopped');
  },
);

test.serial("incremental: full → rows → inc1 → rows → inc2; the chain restored up to inc1 and up to inc2 has each point's checksums", async (t) => {
  const src = await server('chain-source');
  await prepare(src.lifecycle);
  const app = await mysql.createConnection({ host: '127.0.0.1', port: src.port, user: 'app', password: 'app-Secret-1', database: 'shop' });
  await app.query('CREATE TABLE orders (id INT PRIMARY KEY, customer VARCHAR(40), amount DECIMAL(10,2), payload BLOB) ENGINE=InnoDB');
  await app.query('CREATE TABLE notes (id INT PRIMARY KEY AUTO_INCREMENT, body TEXT) ENGINE=Aria');
  const write = async (from: number, n: number) => {
    const rows = Array.from({ length: n }, (_, i) => [
      from + i,
      `customer-${(from + i) % 97}`,
      ((from + i) * 1.37).toFixed(2),
      Buffer.from(`payload ${from + i} `.repeat(8)),
    ]);
    await app.query('INSERT INTO orders VALUES ?', [rows]);
    await app.query('INSERT INTO notes (body) VALUES (?)', [`after ${from + n}`]);
  };
  const b = src.backup();
  const take = async (name: string, parent?: Record<string, string>) => {
    const s = parent ? await b.incrementalStream(parent) : await b.backupStream();
    return runBackup({
      source: s.stream,
      format: s.format,
      finalMetadata: s.metadata,
      storage: storage(),
      container: 'chain_backups',
      name,
      serviceKey: KEY,
      segmentSize: 4 * 1024 * 1024,
    });
  };
  await write(0, 5000);
  const full = await take('full');
  t.regex(full.metadata['to-lsn']!, /^\d+$/);
  await write(5000, 2000);
  await app.query('UPDATE orders SET amount = amount + 1 WHERE id < 100');
  const atInc1 = await checksums(src.lifecycle);
  const inc1 = await take('inc1', (await storage().head(full.location)).metadata);
  t.is(inc1.metadata['from-lsn'], full.metadata['to-lsn']);
  t.true(inc1.rawSize < full.rawSize, `incremental ${inc1.rawSize} bytes, full ${full.rawSize}`);
  await write(7000, 1500);
  await app.query('DELETE FROM orders WHERE id BETWEEN 200 AND 299');
  const atInc2 = await checksums(src.lifecycle);
  const inc2 = await take('inc2', (await storage().head(inc1.location)).metadata);
  t.is((await storage().head(inc2.location)).metadata['from-lsn'], inc1.metadata['to-lsn']);
  await app.end();
  t.notDeepEqual(atInc1, atInc2);

  const restoreChain = async (name: string, chain: Array<{ location: string; checksum: string }>) => {
    const target = await server(name);
    const tb = target.backup();
    await runChainRestore({
      pieces: chain.map((p, i) => ({ storage: storage(), location: p.location, checksum: p.checksum, stagingDir: tb.stagingDir(`${name}-${i}`) })),
      serviceKey: KEY,
      sink: (dir, meta) => tb.restoreStream(meta.format, dir),
      apply: (base, inc, meta) => tb.applyIncremental(meta.format, base, inc),
      commit: (dir, meta) => tb.installRestored(meta.format, dir),
    });
    t.deepEqual(
      readdirSync(target.c.mount_point).filter((f) => f.startsWith('.restore-')),
      [],
      'staging removed',
    );
    await target.lifecycle.start();
    const sums = await checksums(target.lifecycle);
    await target.lifecycle.stop();
    return sums;
  };
  t.deepEqual(await restoreChain('upto-inc1', [full, inc1]), atInc1);
  t.deepEqual(await restoreChain('upto-inc2', [full, inc1, inc2]), atInc2);

  // a chain with a tampered incremental installs nothing: the target keeps its own data
  const target = await server('chain-tampered');
  await prepare(target.lifecycle);
  const tb = target.backup();
  await t.throwsAsync(
    runChainRestore({
      pieces: [full, { ...inc1, checksum: 'f'.repeat(64) }].map((p, i) => ({
        storage: storage(),
        location: p.location,
        checksum: p.checksum,
        stagingDir: tb.stagingDir(`tampered-${i}`),
      })),
      serviceKey: KEY,
      sink: (dir, meta) => tb.restoreStream(meta.format, dir),
      apply: (base, inc, meta) => tb.applyIncremental(meta.format, base, inc),
      commit: (dir, meta) => tb.installRestored(meta.format, dir),
    }),
    { message: /checksum does not match/ },
  );
  t.deepEqual(
    readdirSync(target.c.mount_point).filter((f) => f.startsWith('.restore-')),
    [],
  );
  t.is(await target.lifecycle.health(), 'healthy');
  await t.throwsAsync(src.backup('logical').incrementalStream(full.metadata), { instanceOf: NotSupportedError });
  await src.lifecycle.stop();
});

test.serial('binary logs: closedLogs rotates only after writes; the closed files carry their event times', async (t) => {
  const b = source.backup();
  const first = await b.closedLogs();
  t.true(first.length >= 1);
  t.deepEqual(
    (await b.closedLogs()).map((l) => l.name),
    first.map((l) => l.name),
    'nothing written: no rotation',
  );
  const c = await source.lifecycle.admin.connect();
  await c.query("INSERT INTO shop.notes (body) VALUES ('binlogged')");
  await c.end();
  const after = await b.closedLogs();
  t.is(after.length, first.length + 1);
  const newest = after.at(-1)!;
  t.true(newest.firstEvent.getTime() <= newest.lastEvent.getTime() + 1000);
  t.true(Date.now() - newest.lastEvent.getTime() < 60_000);
});
