// A restore, streamed: storage → sha256 of the stored bytes → decrypt → decompress → the engine's
// restore tool writing into a staging directory. The data becomes the engine's only after the
// whole stream was read and its checksum (and GCM tag) verified: then `commit` moves it into
// place. On any failure the staging directory is removed and nothing else was touched. A chain (a
// full backup and its incrementals) is each piece staged and verified the same way, the
// incrementals applied onto the staged base, and only then committed.
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../../src/common/log.js';
import { CHECKSUM_KEY, SegmentChecksumError } from '../../src/common/stored-object.js';
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
  try {
    const r = await stageBackup(o.storage, { location: o.location, checksum: o.checksum, stagingDir: o.stagingDir }, o);
    await o.commit(o.stagingDir, r.meta);
    o.log?.info({ location: o.location, size: r.size, seconds: (Date.now() - started) / 1000 }, 'backup restored');
    return r;
  } finally {
    await rm(o.stagingDir, { recursive: true, force: true });
  }
}

/** One backup of a chain: where it is, its recorded checksum, and its own staging directory. */
export interface ChainPiece {
  storage: BackupStorage;
  location: string;
  checksum?: string | undefined;
  stagingDir: string;
}

export interface ChainRestoreOptions {
  /** The full backup first, then each incremental backup in the order they were taken. */
  pieces: ChainPiece[];
  serviceKey?: string | undefined;
  sink(stagingDir: string, meta: BackupMeta): Promise<RestoreSink>;
  /** Applies a verified incremental (staged in incrementalDir) onto the base (in baseDir); the installed data is not touched. */
  apply(baseDir: string, incrementalDir: string, meta: BackupMeta): Promise<void>;
  /** Called only after every piece was verified and applied: moves the base into place. */
  commit(baseDir: string, meta: BackupMeta): Promise<void>;
  log?: Logger;
}

/**
 * A full backup and its incrementals, each streamed into its own staging directory and verified
 * like a single backup; each incremental is applied onto the staged base as soon as it is
 * verified (and its directory removed), and the base is committed only after the last one. A
 * tampered or missing piece fails the whole restore with nothing installed.
 */
export async function runChainRestore(o: ChainRestoreOptions): Promise<RestoreRunResult[]> {
  const [base, ...incrementals] = o.pieces;
  if (!base) throw new Error('a backup chain needs at least its full backup');
  const started = Date.now();
  try {
    const results = [await stageBackup(base.storage, base, o)];
    for (const inc of incrementals) {
      const r = await stageBackup(inc.storage, inc, o);
      results.push(r);
      await o.apply(base.stagingDir, inc.stagingDir, r.meta);
      await rm(inc.stagingDir, { recursive: true, force: true });
    }
    await o.commit(base.stagingDir, results[0]!.meta);
    o.log?.info({ pieces: o.pieces.length, size: results.reduce((n, r) => n + r.size, 0), seconds: (Date.now() - started) / 1000 }, 'backup chain restored');
    return results;
  } finally {
    for (const p of o.pieces) await rm(p.stagingDir, { recursive: true, force: true });
  }
}

/** Streams one stored object (a backup, an archived log) through the engine's sink into a fresh staging directory and verifies it; the directory is the caller's to remove. */
export async function stageBackup(
  storage: BackupStorage,
  p: { location: string; checksum?: string | undefined; stagingDir: string },
  o: { serviceKey?: string | undefined; sink(stagingDir: string, meta: BackupMeta): Promise<RestoreSink> },
): Promise<RestoreRunResult> {
  await rm(p.stagingDir, { recursive: true, force: true });
  await mkdir(path.dirname(p.stagingDir), { recursive: true });
  await mkdir(p.stagingDir, { mode: 0o700 });
  const opened = await storage.open(p.location);
  const md = opened.metadata;
  const expected = p.checksum ?? md[CHECKSUM_KEY];
  if (!expected) {
    opened.body.destroy();
    throw new BackupIntegrityError(`backup ${p.location} has no checksum to verify against`);
  }
  if (p.checksum && md[CHECKSUM_KEY] && p.checksum !== md[CHECKSUM_KEY]) {
    opened.body.destroy();
    throw new BackupIntegrityError(`backup ${p.location}: the stored object's checksum does not match the backup's record`);
  }
  const meta: BackupMeta = {
    format: md.format ?? 'unknown',
    compression: (md.compression ?? 'gzip') as Compression,
    cipher: md.cipher ?? 'none',
    metadata: md,
  };
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
  const sink = await o.sink(p.stagingDir, meta);
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
        : e instanceof BackupDecryptionError || e instanceof SegmentChecksumError
          ? e.message
          : `the backup data is corrupt or was altered (${(e as Error).message})`;
    throw new BackupIntegrityError(`restore of ${p.location} failed: ${why}; nothing was restored`, { cause: e });
  }
  const actual = sha.digest('hex');
  if (actual !== expected)
    throw new BackupIntegrityError(`restore of ${p.location} failed: checksum mismatch (expected ${expected}, got ${actual}); nothing was restored`);
  return { checksum: actual, size, meta };
}
