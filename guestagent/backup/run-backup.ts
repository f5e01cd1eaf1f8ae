// A backup, streamed: the engine tool's output → compress → encrypt → storage (sha256 of the
// stored bytes, fixed-size segments uploaded with bounded concurrency). Nothing is held whole in
// memory or on disk; if any stage fails, the segments written are removed and no backup exists.
import { PassThrough, Transform, type Duplex, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../../src/common/log.js';
import { DEFAULT_SEGMENT_SIZE } from '../../src/common/segmented-upload.js';
import { chooseCompression, compressor, suffix, type Compression } from './compression.js';
import { encryptor, ServiceKey, type Cipher } from './encryption.js';
import type { BackupStorage } from './storage/storage.js';

export interface BackupRunOptions {
  /** The backup tool's output; it must end only if the tool succeeded (see process-stream.ts). */
  source: Readable;
  /** What the source is ('xbstream', 'sql', …): recorded, and handed back to the engine on restore. */
  format: string;
  storage: BackupStorage;
  container: string;
  /** The object name without suffixes (e.g. the backup id); `.<format>.<zst|gz>[.enc]` is added. */
  name: string;
  /** The service key from config; absent: the backup is not encrypted. */
  serviceKey?: string | undefined;
  cipher?: Cipher;
  compression?: Compression | 'auto';
  /** Default 64 MiB. */
  segmentSize?: number;
  /** Segment uploads in flight, default 3. */
  concurrency?: number;
  /** Extra metadata for the object (e.g. backup-id, datastore); lower-case keys. */
  metadata?: Record<string, string>;
  /** Metadata the tool knows only once its output ended (e.g. the position it stopped at). */
  finalMetadata?: () => Record<string, string>;
  log?: Logger;
}

export interface BackupRunResult {
  /** The backup's location (Trove's backups.location). */
  location: string;
  /** sha256 (hex) of the stored bytes (Trove's backups.checksum). */
  checksum: string;
  /** Bytes stored (compressed, encrypted). */
  size: number;
  /** Bytes the backup tool produced. */
  rawSize: number;
  etag: string;
  /** What was recorded with the object (format, compression, cipher, wrapped-key, key-id, …). */
  metadata: Record<string, string>;
}

export async function runBackup(o: BackupRunOptions): Promise<BackupRunResult> {
  const started = Date.now();
  const compression = chooseCompression(o.compression);
  const cipher: Cipher | 'none' = o.serviceKey ? (o.cipher ?? 'aes-256-gcm') : 'none';
  const metadata: Record<string, string> = { ...(o.metadata ?? {}), format: o.format, compression, cipher };
  const stages: Duplex[] = [];
  let rawSize = 0;
  stages.push(
    new Transform({
      transform(chunk: Buffer, _e, cb) {
        rawSize += chunk.length;
        cb(null, chunk);
      },
    }),
    compressor(compression),
  );
  if (o.serviceKey) {
    const sk = new ServiceKey(o.serviceKey);
    const { key, wrapped } = sk.newDataKey();
    metadata['wrapped-key'] = wrapped;
    metadata['key-id'] = sk.id;
    stages.push(encryptor(cipher as Cipher, key));
  }
  const name = `${o.name}.${o.format}.${suffix(compression)}${o.serviceKey ? '.enc' : ''}`;
  const body = new PassThrough({ highWaterMark: 1024 * 1024 });
  const flowing = pipeline([o.source, ...stages, body]);
  flowing.catch(() => undefined); // the failure reaches write() through `body`
  o.log?.info({ object: name, container: o.container, compression, cipher, storage: o.storage.driver }, 'backup started');
  const stored = await o.storage.write(o.container, name, body, {
    metadata,
    segmentSize: o.segmentSize ?? DEFAULT_SEGMENT_SIZE,
    concurrency: o.concurrency ?? 3,
    finalMetadata: () => Object.assign(metadata, o.finalMetadata?.() ?? {}),
  });
  await flowing;
  const secs = (Date.now() - started) / 1000;
  o.log?.info({ object: name, size: stored.size, raw_size: rawSize, seconds: secs }, 'backup stored');
  return { location: stored.location, checksum: stored.sha256, size: stored.size, rawSize, etag: stored.etag, metadata };
}
