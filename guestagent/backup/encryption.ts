// Backup encryption: each backup gets a random 256-bit data key; the stream is AES-256-GCM (or
// AES-256-CBC) under it, and the data key is kept only wrapped (AES-256-GCM) under the service
// key from config, in the backup's metadata (`wrapped-key`, `key-id`). Stream format:
//   "TBK1" | cipher id (1 = aes-256-gcm, 2 = aes-256-cbc) | iv (12 or 16 bytes) | ciphertext | gcm tag (16)
// Keys never reach a log line or an error message; the key id (a hash) names which service key.
import { createCipheriv, createDecipheriv, createHash, randomBytes, type CipherGCM, type DecipherGCM } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export type Cipher = 'aes-256-gcm' | 'aes-256-cbc';

const MAGIC = Buffer.from('TBK1');
const IDS: Record<Cipher, number> = { 'aes-256-gcm': 1, 'aes-256-cbc': 2 };
const IV_LEN: Record<Cipher, number> = { 'aes-256-gcm': 12, 'aes-256-cbc': 16 };
const TAG = 16;

export class BackupDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupDecryptionError';
  }
}

/** The service key as stored in config, turned into the key-encrypting key and its public id. */
export class ServiceKey {
  private readonly kek: Buffer;
  readonly id: string;

  constructor(secret: string) {
    if (!secret) throw new Error('the backup service key is empty');
    this.kek = createHash('sha256').update(`trove-ts-backup-kek:${secret}`).digest();
    this.id = createHash('sha256').update(this.kek).digest('hex').slice(0, 16);
  }

  wrap(dataKey: Buffer): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.kek, iv);
    const body = Buffer.concat([c.update(dataKey), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
  }

  unwrap(wrapped: string, keyId?: string): Buffer {
    if (keyId && keyId !== this.id)
      throw new BackupDecryptionError(`the backup was encrypted under another service key (key id ${keyId}, configured ${this.id})`);
    try {
      const b = Buffer.from(wrapped, 'base64');
      const d = createDecipheriv('aes-256-gcm', this.kek, b.subarray(0, 12));
      d.setAuthTag(b.subarray(12, 28));
      return Buffer.concat([d.update(b.subarray(28)), d.final()]);
    } catch {
      throw new BackupDecryptionError('the backup data key could not be unwrapped with the configured service key');
    }
  }

  /** A fresh data key, and its wrapped form for the metadata. */
  newDataKey(): { key: Buffer; wrapped: string } {
    const key = randomBytes(32);
    return { key, wrapped: this.wrap(key) };
  }
}

export function encryptor(cipher: Cipher, key: Buffer): Transform {
  const iv = randomBytes(IV_LEN[cipher]);
  const c = createCipheriv(cipher, key, iv);
  let headerSent = false;
  const header = () => (headerSent ? Buffer.alloc(0) : ((headerSent = true), Buffer.concat([MAGIC, Buffer.from([IDS[cipher]]), iv])));
  return new Transform({
    transform(chunk: Buffer, _e, cb: TransformCallback) {
      cb(null, Buffer.concat([header(), c.update(chunk)]));
    },
    flush(cb) {
      const tail = [header(), c.final()];
      if (cipher === 'aes-256-gcm') tail.push((c as CipherGCM).getAuthTag());
      cb(null, Buffer.concat(tail));
    },
  });
}

/** Decrypts the stream format above; a bad GCM tag (tampered data, wrong key) fails at the end. */
export function decryptor(key: Buffer): Transform {
  let head = Buffer.alloc(0);
  let d: ReturnType<typeof createDecipheriv> | undefined;
  let gcm = false;
  let held = Buffer.alloc(0); // the last TAG bytes seen, which may be the GCM tag
  const fail = (m: string) => new BackupDecryptionError(m);
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      try {
        if (!d) {
          head = Buffer.concat([head, chunk]);
          if (head.length < 5) return cb();
          if (!head.subarray(0, 4).equals(MAGIC)) return cb(fail('the backup is not in the encrypted backup format'));
          const cipher = (Object.keys(IDS) as Cipher[]).find((k) => IDS[k] === head[4]);
          if (!cipher) return cb(fail(`unknown backup cipher id ${head[4]}`));
          const need = 5 + IV_LEN[cipher];
          if (head.length < need) return cb();
          d = createDecipheriv(cipher, key, head.subarray(5, need));
          gcm = cipher === 'aes-256-gcm';
          chunk = head.subarray(need);
          head = Buffer.alloc(0);
        }
        if (!gcm) return cb(null, d.update(chunk));
        const all = Buffer.concat([held, chunk]);
        held = Buffer.from(all.subarray(Math.max(0, all.length - TAG)));
        cb(null, d.update(all.subarray(0, Math.max(0, all.length - TAG))));
      } catch (e) {
        cb(fail(`decrypting the backup failed: ${(e as Error).message}`));
      }
    },
    flush(cb) {
      if (!d) return cb(fail('the backup ended inside its encryption header'));
      try {
        if (gcm) {
          if (held.length < TAG) throw new Error('no authentication tag');
          (d as DecipherGCM).setAuthTag(held);
        }
        cb(null, d.final());
      } catch {
        cb(fail('the backup failed authentication: its data was altered, or it was encrypted with another key'));
      }
    },
  });
}
