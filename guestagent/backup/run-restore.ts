// A restore, streamed: storage → sha256 of the stored bytes → decrypt → decompress → the engine's
// restore tool writing into a staging directory. The data becomes the engine's only after the
// whole stream was read and its checksum (and GCM tag) verified: then `commit` moves it into
// place. On any failure the staging directory is removed and nothing else was touched.
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../../src/common/log.js';
import { CHECKSUM_KEY } from '../../src/common/stored-object.js';
import { decompressor, type Compression } from './compression.js';
import { BackupDecryptionError, decryptor, ServiceKey } from './encryption.js';
import type { BackupStorage } from './storage/storage.js';

/** The backup does not match its checksum, or could not be decoded: nothing was restored. */
export class BackupIntegrityError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackupIntegrityError';
  }
}

/** What the backup's metadata says about it, handed to the engine's sink and commit. */
export interface BackupMeta {
  format: string;
  compression: Compression;
  cipher: string;
  metadata: Record<string, string>;
}

export interface RestoreSink {
  stream: Writable;
  /** Resolves when the restore tool finished successfully. */
  done: Promise<void>;
}

export interface RestoreRunOptions {
  storage: BackupStorage;
  location: string;
  /** The checksum recorded on the backup (backups.checksum); the object's own must agree. */
  checksum?: string | undefined;
  serviceKey?: string | undefined;
  /** Made afresh (removed first if present); best on the target's filesystem so commit can rename. */
  stagingDir: string;
  /** Opens the engine's restore tool writing into the staging directory. */
  sink(stagingDir: string, meta: BackupMeta): Promise<RestoreSink>;
  /** Called only after verification: moves the staged data into place (prepare, rename, chown…). */
  commit(stagingDir: string, meta: BackupMeta): Promise<void>;
  log?: Logger;
}

export interface RestoreRunResult {
  checksum: string;
  /** Bytes read from storage. */
  size: number;
  meta: BackupMeta;
}

export async function runRestore(o: RestoreRunOptions): Promise<RestoreRunResult> {
  const started = Date.now();
  await rm(o.stagingDir, { recursive: true, force: true });
  await mkdir(path.dirname(o.stagingDir), { recursive: true });
  await mkdir(o.stagingDir, { mode: 0o700 });
  try {
    const opened = await o.storage.open(o.location);
    const md = opened.metadata;
    const expected = o.checksum ?? md[CHECKSUM_KEY];
    if (!expected) throw new BackupIntegrityError(`backup ${o.location} has no checksum to verify against`);
    if (o.checksum && md[CHECKSUM_KEY] && o.checksum !== md[CHECKSUM_KEY]) {
      opened.body.destroy();
      throw new BackupIntegrityError(`backup ${o.location}: the stored object's checksum does not match the backup's record`);
    }
    const meta: BackupMeta = { format: md.format ?? 'unknown', compression: (md.compression ?? 'gzip') as Compression, cipher: md.cipher ?? 'none', metadata: md };
    const stages: Transform[] = [];
    const sha = createHash('sha256');
    let size = 0;
    stages.push(
      new Transform({
        transform(chunk: Buffer, _e, cb) {
          sha.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      }),
    );
    if (meta.cipher !== 'none') {
      if (!o.serviceKey) throw new BackupDecryptionError('the backup is encrypted but no service key is configured');
      if (!md['wrapped-key']) throw new BackupIntegrityError('the backup is encrypted but its wrapped key is missing');
      stages.push(decryptor(new ServiceKey(o.serviceKey).unwrap(md['wrapped-key'], md['key-id'])));
    }
    stages.push(decompressor(meta.compression) as Transform);
    const sink = await o.sink(o.stagingDir, meta);
    try {
      await pipeline([opened.body, ...stages, sink.stream]);
      await sink.done;
    } catch (e) {
      sink.stream.destroy();
      await sink.done.catch(() => undefined);
      const actual = sha.digest('hex');
      const why =
        size >= opened.size && actual !== expected
          ? `checksum mismatch (expected ${expected}, got ${actual})`
          : e instanceof BackupDecryptionError
            ? e.message
            : `the backup data is corrupt or was altered (${(e as Error).message})`;
      throw new BackupIntegrityError(`restore of ${o.location} failed: ${why}; nothing was restored`, { cause: e });
    }
    const actual = sha.digest('hex');
    if (actual !== expected) throw new BackupIntegrityError(`restore of ${o.location} failed: checksum mismatch (expected ${expected}, got ${actual}); nothing was restored`);
    await o.commit(o.stagingDir, meta);
    o.log?.info({ location: o.location, size, seconds: (Date.now() - started) / 1000 }, 'backup restored');
    return { checksum: actual, size, meta };
  } finally {
    await rm(o.stagingDir, { recursive: true, force: true });
  }
}
