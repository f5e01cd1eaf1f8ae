// Memory stays flat: a 300 MB incompressible stream through compress/encrypt/segments (default
// 64 MiB segments, 3 in flight) and back, with the process RSS sampled throughout. Its own file,
// so ava runs it in a process of its own.
import test from 'ava';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { runBackup } from './run-backup.js';
import { runRestore } from './run-restore.js';
import { LocalBackupStorage } from './storage/local.js';

const MB = 1024 * 1024;
const TOTAL = 300 * MB;

/** TOTAL pseudo-random bytes (AES-CTR of zeros) in 1 MiB chunks, hashed as they go. */
function randomStream(hash: ReturnType<typeof createHash>): Readable {
  const c = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
  const zeros = Buffer.alloc(MB);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= TOTAL) return void this.push(null);
      const b = c.update(zeros);
      hash.update(b);
      sent += b.length;
      this.push(b);
    },
  });
}

test('RSS growth stays under 100 MB while 300 MB go through backup and restore', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'backup-memory-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const storage = new LocalBackupStorage(path.join(root, 'objects'));
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
  try {
    const inHash = createHash('sha256');
    const r = await runBackup({ source: randomStream(inHash), format: 'raw', storage, container: 'bk', name: 'big', serviceKey: 'k', compression: 'gzip' });
    t.is(r.rawSize, TOTAL);
    const backupPeak = peak - base;
    const outHash = createHash('sha256');
    await runRestore({
      storage,
      location: r.location,
      serviceKey: 'k',
      stagingDir: path.join(root, 'staging'),
      sink: async () => {
        const stream = new Writable({ write: (c: Buffer, _e, cb) => (outHash.update(c), cb()) });
        return { stream, done: new Promise((res) => stream.once('finish', res)) };
      },
      commit: async () => undefined,
    });
    t.is(outHash.digest('hex'), inHash.digest('hex'));
    t.log(`RSS growth: backup ${(backupPeak / MB).toFixed(0)} MB, overall ${((peak - base) / MB).toFixed(0)} MB`);
    t.true(peak - base < 100 * MB, `RSS grew by ${((peak - base) / MB).toFixed(0)} MB`);
  } finally {
    clearInterval(timer);
  }
});
