// Backup throughput (npm run bench): on a generated MariaDB database (BENCH_BACKUP_MB, default
// 1024 MB of rows, as issue 7 asks), prints MB/s of
//  1. the raw pipe `mariadb-backup --backup --stream=xbstream | cat > file` (the ceiling),
//  2. our pipeline: the same tool → zstd/gzip → AES-256-GCM → sha256 → 64 MiB segments (3 in
//     flight) into the local object store, with the agent process's peak RSS growth,
//  3. our restore: local store → verify → decrypt → decompress → mbstream -x into a staging dir.
// MB/s are of the tool's stream (bytes mariadb-backup wrote).
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../src/common/log.js';
import { configSection } from '../src/common/config/schema.js';
import { freeTcpPort } from '../test/helpers/ports.js';
import { mariadbSection } from '../guestagent/engines/mariadb/config.js';
import { MysqlLifecycle } from '../guestagent/engines/mysql-common/lifecycle.js';
import { MysqlBackup } from '../guestagent/engines/mysql-common/backup.js';
import { runBackup } from '../guestagent/backup/run-backup.js';
import { runRestore } from '../guestagent/backup/run-restore.js';
import { LocalBackupStorage } from '../guestagent/backup/storage/local.js';
import { chooseCompression } from '../guestagent/backup/compression.js';

const MB = 1024 * 1024;
const TARGET_MB = Number(process.env.BENCH_BACKUP_MB ?? 1024);
const quiet = createLogger('bench', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const root = mkdtempSync(path.join(tmpdir(), 'backup-bench-'));
chmodSync(root, 0o755);
const mbps = (bytes: number, ms: number) => `${(bytes / MB / (ms / 1000)).toFixed(0)} MB/s`;

/** Samples this process's RSS while a phase runs: its peak, and how much above the start it went. */
function rssSampler() {
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  return () => {
    clearInterval(timer);
    return { peak: peak / MB, growth: (peak - base) / MB };
  };
}

const port = await freeTcpPort();
const c = configSection({ mariadb: { mount_point: path.join(root, 'volume'), port: String(port), bind_host: '127.0.0.1' } }, 'mariadb', mariadbSection);
const state = path.join(root, 'state');
mkdirSync(state, { recursive: true });
const lifecycle = new MysqlLifecycle(c, state, quiet, 80);
try {
  await lifecycle.prepare({ memoryMb: 1024, packages: [], databases: [{ name: 'bench' }], users: [], overrides: {} });
  const db = await lifecycle.admin.connect();
  await db.query('CREATE TABLE bench.rows (id INT PRIMARY KEY, note VARCHAR(64), payload BLOB) ENGINE=InnoDB');
  const t0 = performance.now();
  const perBatch = 2000;
  const rowBytes = 1024;
  for (let id = 0; id < (TARGET_MB * MB) / rowBytes; id += perBatch) {
    // half random (incompressible), half repetitive: a realistic mix for the compressor
    const rows = Array.from({ length: perBatch }, (_, i) => [
      id + i,
      `row ${id + i} of the benchmark`,
      Buffer.concat([randomBytes(rowBytes / 2), Buffer.alloc(rowBytes / 2, 'abc ')]),
    ]);
    await db.query('INSERT INTO bench.rows VALUES ?', [rows]);
  }
  await db.end();
  console.log(`backup benchmark: generated ${TARGET_MB} MB of rows in ${((performance.now() - t0) / 1000).toFixed(1)} s (compression: ${chooseCompression()})`);

  const backup = new MysqlBackup(c, lifecycle, quiet);
  // 1. the raw pipe, with the same credentials file our source uses
  const cnf = path.join(state, 'bench-client.cnf');
  const pw = readFileSync(lifecycle.paths.adminPasswordFile, 'utf8').trim();
  writeFileSync(cnf, `!include ${lifecycle.paths.cnf}\n[mariadb-backup]\nuser = os_admin\npassword = "${pw}"\nsocket = ${lifecycle.paths.socket}\n`, {
    mode: 0o600,
  });
  const out = path.join(root, 'raw.xbstream');
  const tmp = path.join(root, 'raw-tmp');
  mkdirSync(tmp);
  const r0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const sh = spawn(
      'sh',
      ['-c', `mariadb-backup --defaults-file="$1" --backup --stream=xbstream --target-dir="$2" 2>/dev/null | cat > "$3"`, 'sh', cnf, tmp, out],
      { stdio: 'ignore' },
    );
    sh.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`raw pipe exited ${code}`))));
  });
  const rawMs = performance.now() - r0;
  const rawBytes = statSync(out).size;
  rmSync(out);
  console.log(`  raw  mariadb-backup --stream | cat > file : ${(rawBytes / MB).toFixed(0)} MB in ${(rawMs / 1000).toFixed(1)} s = ${mbps(rawBytes, rawMs)}`);

  // 2. our backup pipeline
  const storage = new LocalBackupStorage(path.join(root, 'objects'));
  const sample = rssSampler();
  const b0 = performance.now();
  const src = await backup.backupStream();
  const res = await runBackup({
    source: src.stream,
    format: src.format,
    storage,
    container: 'database_backups',
    name: 'bench',
    serviceKey: 'bench-service-key',
  });
  const ourMs = performance.now() - b0;
  const rss = sample();
  console.log(
    `  ours backup (compress+encrypt+sha256+segments → local store): ${(res.rawSize / MB).toFixed(0)} MB → ${(res.size / MB).toFixed(0)} MB stored in ${(ourMs / 1000).toFixed(1)} s = ${mbps(res.rawSize, ourMs)}`,
  );
  console.log(
    `    = ${((100 * (res.rawSize / ourMs)) / (rawBytes / rawMs)).toFixed(0)}% of the raw pipe's MB/s (goal >= 80%); RSS during the backup: peak ${rss.peak.toFixed(0)} MB, +${rss.growth.toFixed(0)} MB (goal < 150 MB)`,
  );

  // 3. our restore, as far as the staged files (no prepare)
  const sampleR = rssSampler();
  const s0 = performance.now();
  await runRestore({
    storage,
    location: res.location,
    checksum: res.checksum,
    serviceKey: 'bench-service-key',
    stagingDir: backup.stagingDir('bench'),
    sink: (dir, meta) => backup.restoreStream(meta.format, dir),
    commit: async () => undefined,
  });
  const restMs = performance.now() - s0;
  const rssR = sampleR();
  console.log(
    `  ours restore (verify+decrypt+decompress → mbstream -x): ${mbps(res.rawSize, restMs)}; RSS during the restore: peak ${rssR.peak.toFixed(0)} MB, +${rssR.growth.toFixed(0)} MB`,
  );
} finally {
  await lifecycle.stop().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
}
