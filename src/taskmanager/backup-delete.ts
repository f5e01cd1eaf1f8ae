// Deleting a backup: its object (a large object with its segments) from the user's store, then
// the row and the quota. A store that refuses leaves the backup DELETE_FAILED (the user may retry).
import { markBackupDeleted, setBackupState } from '../db/backups.js';
import { changeUsage } from '../db/quotas.js';
import type { BackupStorage } from '../rpc/contracts/common.js';
import type { TaskContext } from './context.js';

export async function deleteBackup(ctx: TaskContext, backupId: string, storage: BackupStorage): Promise<void> {
  const b = await ctx.db('backups').where({ id: backupId, deleted: false }).first('id', 'location', 'tenant_id');
  if (!b) return;
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
  // the row and its quota together: a reader who sees the backup gone sees its quota given back.
  // The quota row is locked first, as reserveBackup does: the other order deadlocked against a
  // backup being taken in the same project (a replica's snapshot dropped while another was taken).
  await ctx.db.transaction(async (trx) => {
    // a release needs no limits
    await changeUsage(trx, b.tenant_id, { backups: -1 }, { instances: -1, ram: -1, volumes: -1, backups: -1 });
    await markBackupDeleted(trx, backupId);
  });
}
