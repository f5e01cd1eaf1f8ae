// The guest's backup verbs: create_backup streams the engine's backup into the tenant's store
// (or the all-in-one directory) and reports the result to the conductor; restoreInto runs during
// prepare, before the instance is handed to its user. An engine without the Backup capability, or
// any failure, is reported as FAILED: never a backup that claims success.
import type { Logger } from '../src/common/log.js';
import type { Handlers, Stub } from '../src/rpc/contract.js';
import type { GuestContract } from '../src/rpc/contracts/guest.js';
import type { ConductorContract } from '../src/rpc/contracts/conductor.js';
import type { BackupStorage as StorageDescriptor, RestoreInfo } from '../src/rpc/contracts/common.js';
import { NotSupportedError, type Backup, type Engine } from './capabilities.js';
import { backupStorage, type BackupConfig } from './backup/config.js';
import { runBackup } from './backup/run-backup.js';
import { runRestore } from './backup/run-restore.js';
import type { BackupStorage } from './backup/storage/storage.js';

export interface BackupHandlerOptions {
  instanceId: string;
  engine: Engine;
  conductor: Stub<ConductorContract>;
  log: Logger;
  config: BackupConfig;
}

const GB = 1024 ** 3;

function storageFor(driver: string | null | undefined, d: StorageDescriptor | null | undefined, c: BackupConfig): BackupStorage {
  const kind = driver ?? d?.driver ?? 'swift';
  if (kind !== 'swift') return backupStorage(kind, c);
  if (!d?.url || !d.auth_token) throw new Error('a Swift backup needs the object-store URL and a token, and the call carried none');
  const token = d.auth_token;
  return backupStorage('swift', c, { endpoint: d.url, token: async () => token });
}

function capability(engine: Engine): Backup {
  if (!engine.backup) throw new NotSupportedError(`Backups are not supported for the '${engine.name}' datastore.`);
  return engine.backup;
}

export function backupHandlers(o: BackupHandlerOptions): Pick<Handlers<GuestContract>, 'create_backup'> {
  const { instanceId, conductor, log } = o;
  return {
    // a cast: the backup runs in the background and reports through the conductor
    create_backup: async (a) => {
      const info = a.backup_info;
      const report = (fields: Record<string, unknown>) =>
        conductor.update_backup({ instance_id: instanceId, backup_id: info.id, sent: Date.now() / 1000, ...fields }).catch((err) => log.error({ backup_id: info.id, err: (err as Error).message }, 'could not report the backup'));
      const run = async () => {
        const started = Date.now();
        try {
          const b = capability(o.engine);
          if (info.backup_type === 'incremental') throw new NotSupportedError('Incremental backups are not supported by this guest agent.');
          const source = await b.backupStream();
          const r = await runBackup({
            source: source.stream,
            format: source.format,
            storage: storageFor(info.storage_driver, a.storage, o.config),
            container: info.swift_container ?? 'database_backups',
            name: info.id,
            serviceKey: o.config.backup_aes_cbc_key,
            cipher: o.config.backup_cipher,
            compression: o.config.backup_compression,
            segmentSize: o.config.backup_segment_max_size,
            concurrency: o.config.backup_upload_concurrency,
            metadata: { 'backup-id': info.id, 'instance-id': instanceId, datastore: info.datastore ?? '', 'datastore-version': info.datastore_version ?? '' },
            log,
          });
          log.info({ backup_id: info.id, bytes: r.size, raw_bytes: r.rawSize, seconds: (Date.now() - started) / 1000 }, 'backup stored');
          await report({ state: 'COMPLETED', size: Math.round((r.size / GB) * 1e6) / 1e6, checksum: r.checksum, location: r.location, backup_type: 'full', success: true });
        } catch (err) {
          log.error({ backup_id: info.id, err: (err as Error).message }, 'backup failed');
          await report({ state: 'FAILED', success: false });
        }
      };
      void run();
    },
  };
}

/** Restores a backup into the prepared engine (before its user sees it); throws if anything fails. */
export async function restoreInto(o: BackupHandlerOptions, info: RestoreInfo, storage: StorageDescriptor | null | undefined): Promise<void> {
  const b = capability(o.engine);
  const started = Date.now();
  const r = await runRestore({
    storage: storageFor(info.storage_driver, storage, o.config),
    location: info.location,
    checksum: info.checksum ?? undefined,
    serviceKey: o.config.backup_aes_cbc_key,
    stagingDir: b.stagingDir(info.id),
    sink: (dir, meta) => b.restoreStream(meta.format, dir),
    commit: (dir, meta) => b.installRestored(meta.format, dir),
    log: o.log,
  });
  o.log.info({ backup_id: info.id, bytes: r.size, seconds: (Date.now() - started) / 1000 }, 'backup restored');
}
