// Point-in-time restores, the guest's two halves. archiveLogs (periodic): the engine closes its
// current transaction log, and every closed log not archived yet goes through the backup pipeline
// (compressed, encrypted, checksummed) to `<container>/binlogs/<instance id>/<file>` with its
// first and last event times in the metadata. replayArchivedLogs (a restore to a time): after the
// backup is installed, the source's archived logs from the backup's position are fetched,
// verified, and replayed by the engine up to the time.
import { existsSync, readFileSync, writeFileSync, createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type { Logger } from '../../src/common/log.js';
import { archivedLogsPrefix } from '../../src/common/log-archive-names.js';
import { NotSupportedError, type Backup, type Engine } from '../capabilities.js';
import { backupStorage, type BackupConfig } from './config.js';
import { runBackup } from './run-backup.js';
import { stageBackup } from './run-restore.js';
import type { BackupStorage } from './storage/storage.js';

const logPrefix = archivedLogsPrefix;

export interface ArchiveOptions {
  instanceId: string;
  backup: Backup;
  storage: BackupStorage;
  config: BackupConfig;
  /** A JSON file listing the logs archived already. */
  stateFile: string;
  log: Logger;
}

/** Archives the closed logs not archived yet; returns their names. */
export async function archiveLogs(o: ArchiveOptions): Promise<string[]> {
  if (!o.backup.closedLogs) return [];
  const done = new Set<string>(existsSync(o.stateFile) ? (JSON.parse(readFileSync(o.stateFile, 'utf8')) as string[]) : []);
  const shipped: string[] = [];
  for (const l of await o.backup.closedLogs()) {
    if (done.has(l.name)) continue;
    await runBackup({
      source: createReadStream(l.path),
      format: 'binlog',
      storage: o.storage,
      container: o.config.log_archive_container,
      name: `${logPrefix(o.instanceId)}${l.name}`,
      serviceKey: o.config.backup_aes_cbc_key,
      cipher: o.config.backup_cipher,
      compression: o.config.backup_compression,
      segmentSize: o.config.backup_segment_max_size,
      concurrency: o.config.backup_upload_concurrency,
      metadata: { 'instance-id': o.instanceId, 'log-file': l.name, 'first-event': l.firstEvent.toISOString(), 'last-event': l.lastEvent.toISOString() },
    });
    done.add(l.name);
    shipped.push(l.name);
    writeFileSync(o.stateFile, JSON.stringify([...done]));
  }
  if (shipped.length) o.log.info({ logs: shipped.length }, 'transaction logs archived');
  return shipped;
}

/** Replays the source instance's archived logs onto the just-restored engine, up to `stopAt`. */
export async function replayArchivedLogs(o: {
  backup: Backup;
  storage: BackupStorage;
  config: BackupConfig;
  sourceInstanceId: string;
  stopAt: Date;
  stagingDir: string;
  log: Logger;
}): Promise<number> {
  const b = o.backup;
  if (!b.restoredLogPosition || !b.replayLogs) throw new NotSupportedError('Point-in-time restores are not supported for this datastore.');
  const from = await b.restoredLogPosition();
  const archived = (await o.storage.list(o.config.log_archive_container, logPrefix(o.sourceInstanceId)))
    .map((x) => ({
      location: x.location,
      name: x.metadata['log-file'] ?? '',
      first: new Date(x.metadata['first-event'] ?? 0),
      last: new Date(x.metadata['last-event'] ?? 0),
      checksum: x.metadata.sha256,
    }))
    .filter((x) => x.name)
    .sort((a, c) => (a.name < c.name ? -1 : a.name > c.name ? 1 : 0));
  const newest = archived.at(-1);
  if (!newest || newest.last < o.stopAt) {
    throw new Error(
      `the archived transaction logs of ${o.sourceInstanceId} reach only up to ${newest ? newest.last.toISOString() : 'nothing'}; cannot restore to ${o.stopAt.toISOString()}`,
    );
  }
  const needed = archived.filter((x) => x.name >= from.file && x.first <= o.stopAt);
  if (needed[0]?.name !== from.file) throw new Error(`the transaction log ${from.file}, where the backup stops, is not archived`);
  const files: string[] = [];
  try {
    for (const [i, x] of needed.entries()) {
      const dir = path.join(o.stagingDir, String(i));
      await stageBackup(
        o.storage,
        { location: x.location, checksum: x.checksum, stagingDir: dir },
        {
          serviceKey: o.config.backup_aes_cbc_key,
          sink: async (d) => {
            const stream = createWriteStream(path.join(d, x.name), { mode: 0o600 });
            return { stream, done: finished(stream) };
          },
        },
      );
      files.push(path.join(dir, x.name));
    }
    await b.replayLogs(files, from, o.stopAt);
  } finally {
    await rm(o.stagingDir, { recursive: true, force: true });
  }
  o.log.info({ logs: files.length, stop_at: o.stopAt.toISOString() }, 'restored to a point in time');
  return files.length;
}

/** Runs archiveLogs every log_archive_interval seconds while the engine is healthy (none when the archive is off or the engine keeps no logs). */
export function startLogArchiver(o: {
  instanceId: string;
  engine: Engine;
  config: BackupConfig;
  stateFile: string;
  log: Logger;
}): { stop(): void } | undefined {
  const backup = o.engine.backup;
  if (o.config.log_archive_storage === 'none' || !backup?.closedLogs) return undefined;
  const storage = backupStorage(o.config.log_archive_storage, o.config);
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void (async () => {
      if (!(await o.engine.lifecycle.prepared()) || (await o.engine.lifecycle.health()) !== 'healthy') return;
      await archiveLogs({ instanceId: o.instanceId, backup, storage, config: o.config, stateFile: o.stateFile, log: o.log });
    })()
      .catch((err) => o.log.warn({ err: (err as Error).message }, 'archiving transaction logs failed'))
      .finally(() => (running = false));
  }, o.config.log_archive_interval * 1000);
  return { stop: () => clearInterval(timer) };
}
