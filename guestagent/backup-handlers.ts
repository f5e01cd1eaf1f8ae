// The guest's backup verbs: create_backup streams the engine's backup into the tenant's store
// (or the all-in-one directory) and reports the result to the conductor; restoreInto runs during
// prepare, before the instance is handed to its user. An engine without the Backup capability, or
// any failure, is reported as FAILED: never a backup that claims success.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { scrubSecrets, type Logger } from '../src/common/log.js';
import type { Handlers, Stub } from '../src/rpc/contract.js';
import type { GuestContract } from '../src/rpc/contracts/guest.js';
import type { ConductorContract } from '../src/rpc/contracts/conductor.js';
import type { BackupInfo, BackupStorage as StorageDescriptor, RestoreInfo } from '../src/rpc/contracts/common.js';
import { CHECKSUM_KEY } from '../src/common/stored-object.js';
import { NotSupportedError, type Backup, type BackupStreamSource, type Engine } from './capabilities.js';
import { backupStorage, type BackupConfig } from './backup/config.js';
import { runBackup } from './backup/run-backup.js';
import { runChainRestore, runRestore } from './backup/run-restore.js';
import { replayArchivedLogs } from './backup/log-archive.js';
import type { BackupStorage } from './backup/storage/storage.js';

export interface BackupHandlerOptions {
  instanceId: string;
  engine: Engine;
  conductor: Stub<ConductorContract>;
  log: Logger;
  config: BackupConfig;
  /**
   * Where the ids of the backups running now are kept (a file in the agent's state directory): a
   * backup the agent was running when it died is reported FAILED when it starts again
   * (reportInterruptedBackups), instead of staying BUILDING while the new agent's heartbeats keep
   * the taskmanager waiting. Without it they are remembered in memory only.
   */
  runningFile?: string | undefined;
}

/** Why a backup cut short by the agent's end failed. */
export const INTERRUPTED_REASON = 'the guest agent stopped while the backup was running (it was restarted)';

function readRunning(file: string | undefined): string[] {
  if (!file || !existsSync(file)) return [];
  try {
    const ids = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return []; // torn by the agent's death mid-write: nothing to report
  }
}

/**
 * At the agent's start: every backup the previous agent was running (its process killed, its VM
 * rebooted) is reported FAILED with the reason; the taskmanager's flow then removes what it stored.
 */
export async function reportInterruptedBackups(o: Pick<BackupHandlerOptions, 'instanceId' | 'conductor' | 'log' | 'runningFile'>): Promise<string[]> {
  // read and cleared before the first await: a backup this agent starts meanwhile is its own
  const ids = readRunning(o.runningFile);
  if (o.runningFile) rmSync(o.runningFile, { force: true });
  for (const id of ids) {
    o.log.warn({ backup_id: id }, 'backup interrupted by the end of the previous guest agent: reported failed');
    await o.conductor.update_backup({
      instance_id: o.instanceId,
      backup_id: id,
      sent: Date.now() / 1000,
      state: 'FAILED',
      success: false,
      fail_reason: INTERRUPTED_REASON,
    });
  }
  return ids;
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

/** How many finished backups' outcomes the agent remembers, to answer a repeated create_backup. */
const REMEMBERED_OUTCOMES = 50;

export function backupHandlers(o: BackupHandlerOptions): Pick<Handlers<GuestContract>, 'create_backup'> {
  const { instanceId, conductor, log } = o;
  // A taskmanager resumed after a crash may cast create_backup again for the same backup: a run
  // still going is not started twice (two runs would write the same object), a finished one is
  // reported again instead of being redone.
  const running = new Set<string>();
  const remember = () => {
    try {
      if (o.runningFile) writeFileSync(o.runningFile, JSON.stringify([...running]), { mode: 0o600 });
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not record the running backups'); // never in the way of a report
    }
  };
  const outcomes = new Map<string, Record<string, unknown>>();
  return {
    // a cast: the backup runs in the background and reports through the conductor
    create_backup: async (a) => {
      const info = a.backup_info;
      const report = (fields: Record<string, unknown>) =>
        conductor
          .update_backup({ instance_id: instanceId, backup_id: info.id, sent: Date.now() / 1000, ...fields })
          .catch((err) => log.error({ backup_id: info.id, err: (err as Error).message }, 'could not report the backup'));
      if (running.has(info.id)) {
        log.info({ backup_id: info.id }, 'backup already running: the repeated request is ignored');
        return;
      }
      const known = outcomes.get(info.id);
      if (known) {
        log.info({ backup_id: info.id, state: known.state }, 'backup already done: its outcome is reported again');
        await report(known);
        return;
      }
      const finish = async (fields: Record<string, unknown>) => {
        outcomes.set(info.id, fields);
        if (outcomes.size > REMEMBERED_OUTCOMES) outcomes.delete(outcomes.keys().next().value as string);
        running.delete(info.id);
        remember();
        await report(fields);
      };
      running.add(info.id);
      remember();
      const run = async () => {
        const started = Date.now();
        try {
          const b = capability(o.engine);
          const storage = storageFor(info.storage_driver, a.storage, o.config);
          const incremental = info.backup_type === 'incremental';
          const source = incremental ? await incrementalSource(b, storage, info.parent) : await b.backupStream();
          const r = await runBackup({
            source: source.stream,
            format: source.format,
            finalMetadata: source.metadata,
            storage,
            container: info.swift_container ?? 'database_backups',
            name: info.id,
            serviceKey: o.config.backup_aes_cbc_key,
            cipher: o.config.backup_cipher,
            compression: o.config.backup_compression,
            segmentSize: o.config.backup_segment_max_size,
            concurrency: o.config.backup_upload_concurrency,
            metadata: {
              'backup-id': info.id,
              'instance-id': instanceId,
              datastore: info.datastore ?? '',
              'datastore-version': info.datastore_version ?? '',
              ...(incremental && info.parent ? { 'parent-location': info.parent.location } : {}),
            },
            log,
          });
          log.info({ backup_id: info.id, bytes: r.size, raw_bytes: r.rawSize, seconds: (Date.now() - started) / 1000 }, 'backup stored');
          await finish({
            state: 'COMPLETED',
            size: Math.round((r.size / GB) * 1e6) / 1e6,
            checksum: r.checksum,
            location: r.location,
            backup_type: incremental ? 'incremental' : 'full',
            success: true,
          });
        } catch (err) {
          log.error({ backup_id: info.id, err: (err as Error).message }, 'backup failed');
          await finish({ state: 'FAILED', success: false, fail_reason: scrubSecrets((err as Error).message) });
        }
      };
      void run();
    },
  };
}

/** An incremental backup's source: the engine continues from what the parent's stored object records. */
async function incrementalSource(b: Backup, storage: BackupStorage, parent: BackupInfo['parent']): Promise<BackupStreamSource> {
  if (!b.incrementalStream) throw new NotSupportedError('Incremental backups are not supported for this datastore.');
  if (!parent?.location) throw new Error('an incremental backup needs its parent backup, and the call named none');
  const head = await storage.head(parent.location);
  if (parent.checksum && head.metadata[CHECKSUM_KEY] && head.metadata[CHECKSUM_KEY] !== parent.checksum) {
    throw new Error("the parent backup's stored object does not match its recorded checksum");
  }
  return b.incrementalStream(head.metadata);
}

/**
 * Restores a backup into the prepared engine (before its user sees it); throws if anything fails.
 * An incremental backup comes with its chain (the full backup first): every piece is verified and
 * applied in staging before anything is installed.
 */
export async function restoreInto(
  o: BackupHandlerOptions,
  info: RestoreInfo,
  storage: StorageDescriptor | null | undefined,
  chain?: RestoreInfo[] | null,
): Promise<void> {
  const b = capability(o.engine);
  const started = Date.now();
  if (chain && chain.length > 1) {
    if (chain[chain.length - 1]!.id !== info.id) throw new Error(`the backup chain does not end with the backup ${info.id}`);
    const apply = b.applyIncremental?.bind(b);
    if (!apply) throw new NotSupportedError('Restoring incremental backups is not supported for this datastore.');
    await runChainRestore({
      pieces: chain.map((p) => ({
        storage: storageFor(p.storage_driver, storage, o.config),
        location: p.location,
        checksum: p.checksum ?? undefined,
        stagingDir: b.stagingDir(p.id),
      })),
      serviceKey: o.config.backup_aes_cbc_key,
      sink: (dir, meta) => b.restoreStream(meta.format, dir),
      apply: (base, inc, meta) => apply(meta.format, base, inc),
      commit: (dir, meta) => b.installRestored(meta.format, dir),
      log: o.log,
    });
    o.log.info({ backup_id: info.id, pieces: chain.length, seconds: (Date.now() - started) / 1000 }, 'backup chain restored');
    return;
  }
  if (info.type === 'incremental') throw new Error(`the backup ${info.id} is incremental and the call carried no chain to restore it with`);
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

/** After restoreInto: the source's archived transaction logs replayed onto the running engine up to a time. */
export async function restoreToTime(
  o: BackupHandlerOptions,
  to: { time: string; source_instance_id: string },
  info: RestoreInfo,
  storage: StorageDescriptor | null | undefined,
): Promise<void> {
  const b = capability(o.engine);
  await replayArchivedLogs({
    backup: b,
    storage: storageFor(o.config.log_archive_storage === 'none' ? info.storage_driver : o.config.log_archive_storage, storage, o.config),
    config: o.config,
    sourceInstanceId: to.source_instance_id,
    stopAt: new Date(to.time),
    stagingDir: b.stagingDir(`logs-${info.id}`),
    log: o.log,
  });
}
