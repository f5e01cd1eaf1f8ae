// A backup of an instance: the guest streams it from the engine into the object store and reports
// through the conductor (update_backup); this flow starts it and waits for the end, so a backup
// whose guest dies or hangs ends FAILED instead of BUILDING forever. The user's storage token is
// kept sealed in the flow state.
import type { BackupInfo, BackupStorage } from '../../rpc/contracts/common.js';
import { getBackupRow, RUNNING_BACKUP_STATES, setBackupState } from '../../db/backups.js';
import { recordedFlow } from '../../db/flows.js';
import { guestStatus } from '../../db/instances.js';
import type { FlowDefinition } from '../flow.js';
import { guestOf, type TaskContext } from '../context.js';
import { WaitError } from '../waits.js';
import { backupDuration, backupSize } from '../../common/metrics/metrics.js';

export const BACKUP = 'backup';

export interface BackupData {
  backupInfo: BackupInfo;
  sealedStorage: string;
  castAt?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const secondsSince = (iso: string | undefined): number => (iso ? Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000) : 0);

/**
 * Records the BACKUP flow for the instance and runs it (create_backup, and the backup scheduler).
 * False when another flow holds the instance: the backup is then marked FAILED (unless the flow
 * held is this very backup's, i.e. a redelivered message).
 */
export async function beginBackup(ctx: TaskContext, instanceId: string, backupInfo: BackupInfo, storage: BackupStorage): Promise<boolean> {
  const data: BackupData = { backupInfo, sealedStorage: ctx.secrets.seal(JSON.stringify(storage)) };
  let recorded: string | undefined;
  // a previous backup's flow may still hold the instance for a moment after its backup ended (its
  // wait step polls): a backup asked for right then (an incremental on the one just finished) waits
  for (let tries = 0; ; tries++) {
    if (await ctx.runner.begin(BACKUP, instanceId, data, ctx.config.backup_timeout)) return true;
    const state = await recordedFlow(ctx.db, instanceId);
    recorded = (state?.data as Partial<BackupData> | undefined)?.backupInfo?.id;
    if (!state && tries < 20) continue;
    if (recorded === backupInfo.id || state?.flow !== BACKUP || !recorded || tries >= 20) break;
    const previous = await getBackupRow(ctx.db, recorded);
    if (previous && !previous.deleted && (RUNNING_BACKUP_STATES as readonly string[]).includes(previous.state)) break;
    await sleep(500);
  }
  if (recorded !== backupInfo.id) {
    await setBackupState(ctx.db, backupInfo.id, 'FAILED', ['NEW'], 'the instance is busy with another task');
    ctx.log.warn({ instance_id: instanceId, backup_id: backupInfo.id }, 'backup refused: the instance is busy with another task');
  }
  return false;
}

/**
 * What a failed backup left in the store: the segments (and a manifest, if any) of a run cut short
 * (its guest killed, its VM gone), which no backup record would ever name; named after the backup's
 * id in its container and the container's _segments. A store that cannot be reached is logged.
 */
async function removeStored(ctx: TaskContext, data: BackupData): Promise<void> {
  const container = data.backupInfo.swift_container ?? 'database_backups';
  try {
    const store = ctx.objectStore(JSON.parse(ctx.secrets.open(data.sealedStorage)) as BackupStorage);
    for (const c of [container, `${container}_segments`]) {
      for (const o of await store.listObjects(c, data.backupInfo.id)) await store.deleteObject(c, o.name);
    }
  } catch (err) {
    ctx.log.warn({ backup_id: data.backupInfo.id, err: (err as Error).message }, 'could not remove what the failed backup stored');
  }
}

export function backupFlow(ctx: TaskContext): FlowDefinition<BackupData> {
  return {
    name: BACKUP,
    steps: [
      {
        name: 'start',
        run: async (s) => {
          // recorded before the cast: a resumed flow never starts a second run of the same backup
          s.data.castAt = new Date().toISOString();
          await s.save();
          await setBackupState(ctx.db, s.data.backupInfo.id, 'BUILDING', ['NEW']);
          const storage = JSON.parse(ctx.secrets.open(s.data.sealedStorage)) as BackupStorage;
          await guestOf(ctx, s.instanceId).create_backup({ backup_info: s.data.backupInfo, storage });
        },
      },
      {
        name: 'wait',
        run: async (s) => {
          const expiryMs = ctx.config.agent_heartbeat_expiry * 1000;
          for (;;) {
            const b = await getBackupRow(ctx.db, s.data.backupInfo.id);
            if (!b) return;
            if (b.state === 'COMPLETED') {
              backupDuration.observe({ outcome: 'completed' }, secondsSince(s.data.castAt));
              if (b.size !== null) backupSize.observe(b.size);
              return;
            }
            if (b.state === 'FAILED') throw new WaitError('the guest reported the backup failed');
            const hb = await guestStatus(ctx.db, s.instanceId);
            const castAt = new Date(s.data.castAt!).getTime();
            const last = hb?.updated_at ? new Date(hb.updated_at).getTime() : 0;
            if (Date.now() - Math.max(last, castAt) > expiryMs) throw new WaitError('the guest agent stopped reporting during the backup');
            if (Date.now() > s.deadline) throw new WaitError('the backup did not finish in time (backup_timeout)');
            await sleep(1000);
          }
        },
      },
    ],
    fail: async (s, error) => {
      const id = s.data.backupInfo.id;
      const n = await setBackupState(ctx.db, id, 'FAILED', ['NEW', 'BUILDING', 'SAVING'], error.message);
      if (s.data.castAt) backupDuration.observe({ outcome: 'failed' }, secondsSince(s.data.castAt));
      if (n) s.log.warn({ backup_id: id, reason: error.message }, 'backup failed');
      if ((await getBackupRow(ctx.db, id))?.state === 'FAILED') await removeStored(ctx, s.data);
    },
  };
}
