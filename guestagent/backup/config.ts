// The guest's backup settings ([DEFAULT] of trove-guestagent.conf), with Trove's key names where
// Trove has one, and the storage a backup goes to or comes from.
import path from 'node:path';
import { z } from 'zod';
import { opt } from '../../src/common/config/schema.js';
import { DEFAULT_LOG_ARCHIVE_CONTAINER } from '../../src/common/log-archive-names.js';
import type { BackupStorage } from './storage/storage.js';
import { LocalBackupStorage } from './storage/local.js';
import { SwiftBackupStorage } from './storage/swift.js';

export const backupDefaults = z.object({
  /** The service key that wraps each backup's data key (Trove's key name); unset: backups are not encrypted. */
  backup_aes_cbc_key: opt.optStr(),
  /** Bytes per stored segment (Trove's key; our default 64 MiB). */
  backup_segment_max_size: opt.int(64 * 1024 * 1024, 1024 * 1024, 5 * 1024 * 1024 * 1024),
  /** (trove-ts) Segment uploads in flight. */
  backup_upload_concurrency: opt.int(3, 1, 8),
  /** (trove-ts) auto (zstd when installed, else gzip), zstd or gzip. */
  backup_compression: z.enum(['auto', 'zstd', 'gzip']).default('auto'),
  /** (trove-ts) aes-256-gcm (authenticated) or aes-256-cbc. */
  backup_cipher: z.enum(['aes-256-gcm', 'aes-256-cbc']).default('aes-256-gcm'),
  /** (trove-ts, all-in-one) The object directory of storage_driver 'local': <[local] state_dir>/objects. */
  backup_local_dir: opt.str(path.resolve('.state/local/objects')),
  /** (trove-ts) Where the engine's closed transaction logs are archived for point-in-time restores: 'local' (the all-in-one directory) or 'none' (the agent holds no object-store credentials of its own). */
  log_archive_storage: z.enum(['none', 'local']).default('none'),
  /** (trove-ts) The container of the archive: `<container>/binlogs/<instance id>/<file>`. */
  log_archive_container: opt.str(DEFAULT_LOG_ARCHIVE_CONTAINER),
  /** (trove-ts) Seconds between archive runs (each closes the current log first). */
  log_archive_interval: opt.int(60, 1, 86400),
});

export type BackupConfig = z.output<typeof backupDefaults>;

/** The storage of a backup's storage_driver: 'swift' needs the tenant's account URL and a token. */
export function backupStorage(driver: string, c: BackupConfig, swift?: { endpoint: string; token: () => Promise<string> }): BackupStorage {
  if (driver === 'local') return new LocalBackupStorage(c.backup_local_dir);
  if (driver === 'swift') {
    if (!swift) throw new Error('a Swift backup needs the object-store endpoint and a token');
    return new SwiftBackupStorage(swift);
  }
  throw new Error(`unknown backup storage driver '${driver}' (swift, local)`);
}
