// Deleting a backup: its object (a large object with its segments) from the user's store, then
// the row and the quota. A store that refuses leaves the backup DELETE_FAILED (the user may retry).
import { deleteBackupRecord, getBackupRow, setBackupState } from '../db/backups.js';
import type { BackupStorage } from '../rpc/contracts/common.js';
import type { TaskContext } from './context.js';

export async function deleteBackup(ctx: TaskContext, backupId: string, storage: BackupStorage): Promise<void> {
  const b = await getBackupRow(ctx.db, backupId);
  if (!b || b.deleted) return;
  try {
    if (b.location) {
      const store = ctx.objectStore(storage);
      const { container, name } = await store.parseLocation(b.location);
      await store.deleteObject(container, name);
    }
  } catch (err) {
    await setBackupState(ctx.db, backupId, 'DELETE_FAILED');
    ctx.log.warn({ backup_id: backupId, err: (err as Error).message }, 'could not delete the backup object');
    return;
  }
  // the row and its quota together
  await deleteBackupRecord(ctx.db, backupId, b.tenant_id);
}
