// The stream pipeline on real files: backup → local store → restore, byte-equal; tampering,
// a wrong key and a failing backup tool leave nothing behind.
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { createLogger } from '../../src/common/log.js';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { ObjectDirectory } from '../../src/common/object-directory.js';
import { runBackup } from './run-backup.js';
import { BackupIntegrityError, runRestore, type RestoreSink } from './run-restore.js';
import { LocalBackupStorage } from './storage/local.js';
import { BackupDecryptionError } from './encryption.js';
import { processSource, ProcessFailedError } from './process-stream.js';

const root = mkdtempSync(path.join(tmpdir(), 'backup-pipeline-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
const objects = path.join(root, 'objects');
const storage = new LocalBackupStorage(objects);
const KEY = 'service-key-for-tests';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const chunks = (b: Buffer, n = 256 * 1024) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < b.length; i += n) yield b.subarray(i, i + n);
    })(),
  );

/** A sink writing the restored stream to <staging>/data; commit moves it to <target>/data. */
function fileRestore(target: string) {
  const calls: string[] = [];
  return {
    calls,
    sink: async (dir: string): Promise<RestoreSink> => {
      const stream = createWriteStream(path.join(dir, 'data'));
      return { stream, done: finished(stream) };
    },
    commit: async (dir: string) => {
      calls.push('commit');
      renameSync(path.join(dir, 'data'), path.join(target, 'data'));
    },
  };
}

const newTarget = (name: string) => {
  const d = path.join(root, name);
  rmSync(d, { recursive: true, force: true });
  return mkdtempSync(d);
};

for (const [compression, cipher] of [
  ['zstd', 'aes-256-gcm'],
  ['gzip', 'aes-256-cbc'],
] as const) {
  test.serial(`round trip of 50 MB: ${compression}, ${cipher}, 4 MiB segments, byte-equal`, async (t) => {
    const data = Buffer.concat([randomBytes(30 * 1024 * 1024), Buffer.alloc(20 * 1024 * 1024, 'row data ')]);
    const r = await runBackup({
      source: chunks(data),
      format: 'raw',
      storage,
      container: 'bk',
      name: `rt-${compression}`,
      serviceKey: KEY,
      cipher,
      compression,
      segmentSize: 4 * 1024 * 1024,
      concurrency: 3,
    });
    t.is(r.rawSize, data.length);
    t.true(r.size < data.length, 'compressed');
    t.regex(r.location, new RegExp(`^file:///.*/bk/rt-${compression}\\.raw\\.${compression === 'zstd' ? 'zst' : 'gz'}\\.enc$`));
    t.is(r.metadata.cipher, cipher);
    t.is(r.metadata.compression, compression);
    t.truthy(r.metadata['wrapped-key']);
    const stored = readFileSync(fileURLToPath(r.location));
    t.true(JSON.parse(stored.toString()).length >= 2, 'a manifest over segments');
    const target = newTarget(`target-${compression}`);
    const fr = fileRestore(target);
    const back = await runRestore({ storage, location: r.location, checksum: r.checksum, serviceKey: KEY, stagingDir: path.join(target, '.staging'), ...fr });
    t.is(back.checksum, r.checksum);
    t.is(back.meta.format, 'raw');
    t.is(sha(readFileSync(path.join(target, 'data'))), sha(data));
    t.false(existsSync(path.join(target, '.staging')), 'staging removed');
  });
}

test.serial('a tampered segment fails the restore clearly, before commit, leaving nothing in the target', async (t) => {
  const data = randomBytes(6 * 1024 * 1024);
  const r = await runBackup({ source: chunks(data), format: 'raw', storage, container: 'bk', name: 'tamper', serviceKey: KEY, segmentSize: 1024 * 1024 });
  const seg = path.join(objects, 'bk_segments', 'tamper.raw.zst.enc', '00000003');
  const b = readFileSync(seg);
  b[1000] = b[1000]! ^ 0x01;
  writeFileSync(seg, b);
  const target = newTarget('target-tamper');
  const fr = fileRestore(target);
  const err = await t.throwsAsync(
    runRestore({ storage, location: r.location, checksum: r.checksum, serviceKey: KEY, stagingDir: path.join(target, '.staging'), ...fr }),
    { instanceOf: BackupIntegrityError },
  );
  t.regex(
    err!.message,
    /^restore of \S+ failed: backup checksum mismatch in segment 3 of bk\/tamper\.raw\.zst\.enc: md5 [0-9a-f]{32}, the manifest records [0-9a-f]{32}; nothing was restored$/,
  );
  t.deepEqual(fr.calls, [], 'commit never ran');
  t.deepEqual(readdirSync(target), [], 'nothing in the target');
});

test.serial('the checksum on record must match; a wrong service key is refused; no key means no encryption', async (t) => {
  const data = randomBytes(300_000);
  const r = await runBackup({ source: chunks(data), format: 'raw', storage, container: 'bk', name: 'keys', serviceKey: KEY, compression: 'gzip' });
  const target = newTarget('target-keys');
  await t.throwsAsync(
    runRestore({ storage, location: r.location, checksum: 'f'.repeat(64), serviceKey: KEY, stagingDir: path.join(target, '.s'), ...fileRestore(target) }),
    { instanceOf: BackupIntegrityError, message: /checksum does not match/ },
  );
  const wrong = await t.throwsAsync(
    runRestore({ storage, location: r.location, serviceKey: 'another-key', stagingDir: path.join(target, '.s'), ...fileRestore(target) }),
    { instanceOf: BackupDecryptionError },
  );
  t.regex(wrong!.message, /another service key \(key id [0-9a-f]{16}/);
  t.false(wrong!.message.includes(KEY));
  t.deepEqual(readdirSync(target), []);
  const plain = await runBackup({ source: chunks(data), format: 'raw', storage, container: 'bk', name: 'plain', compression: 'gzip' });
  t.is(plain.metadata.cipher, 'none');
  t.true(plain.location.endsWith('plain.raw.gz'));
  await runRestore({ storage, location: plain.location, stagingDir: path.join(target, '.s'), ...fileRestore(target) });
  t.true(readFileSync(path.join(target, 'data')).equals(data));
});

test.serial('log lines name the backup, never the service key or the wrapped data key', async (t) => {
  const lines: string[] = [];
  const log = createLogger('test', { level: 'debug', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
  const r = await runBackup({ source: chunks(randomBytes(100_000)), format: 'raw', storage, container: 'bk', name: 'logged', serviceKey: KEY, log });
  const target = newTarget('target-logged');
  await runRestore({ storage, location: r.location, serviceKey: KEY, stagingDir: path.join(target, '.s'), log, ...fileRestore(target) });
  const text = lines.join('');
  t.regex(text, /backup stored/);
  t.regex(text, /backup restored/);
  t.false(text.includes(KEY));
  t.false(text.includes(r.metadata['wrapped-key']!));
});

test.serial('a backup tool that fails after writing leaves no backup and no segments', async (t) => {
  const source = processSource({ bin: '/bin/sh', args: ['-c', 'head -c 3000000 /dev/urandom; echo "disk on fire" >&2; exit 3'] });
  const err = await t.throwsAsync(runBackup({ source, format: 'raw', storage, container: 'fails', name: 'broken', serviceKey: KEY, segmentSize: 512 * 1024 }), {
    instanceOf: ProcessFailedError,
  });
  t.regex(err!.message, /^sh exited with code 3: disk on fire$/);
  const dir = new ObjectDirectory(objects);
  t.deepEqual(await dir.listObjects('fails'), []);
  t.deepEqual(await dir.listObjects('fails_segments'), []);
});

test.serial('the control plane store reads what the guest wrote (same layout) and deletes it with its segments', async (t) => {
  const { LocalObjectStore } = await import('../../src/clients/local/object-store.js');
  const data = randomBytes(2 * 1024 * 1024);
  const r = await runBackup({ source: chunks(data), format: 'raw', storage, container: 'shared', name: 'b1', serviceKey: KEY, segmentSize: 512 * 1024 });
  const cp = new LocalObjectStore({ state_dir: root });
  const { container, name } = await cp.parseLocation(r.location);
  const head = await cp.headObject(container, name);
  t.is(head.size, r.size);
  t.is(head.metadata.sha256, r.checksum);
  t.true(head.large);
  await cp.deleteObject(container, name);
  t.deepEqual(await cp.listObjects('shared_segments'), []);
  t.false(existsSync(fileURLToPath(r.location)));
});
