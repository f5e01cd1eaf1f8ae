// The backup storage of work the taskmanager does without a user's token (scheduled backups, the
// pre-upgrade backup of an automatic upgrade): the local store, or the trustor's Swift through the
// Keystone trust the API recorded (src/api/storage-trust.ts), with a token scoped to the trust.
import type { BackupStorage } from '../rpc/contracts/common.js';
import type { TaskContext } from './context.js';

/** Why the recorded storage cannot be used now (the user reads it as the reason). */
export class StorageUnavailableError extends Error {}

export interface DelegatedStorageRecord {
  storage_driver: 'local' | 'swift' | null;
  sealed_credential: string | null;
}

/** `holder` names what recorded the trust in the messages ("schedule"). */
export async function storageFor(ctx: TaskContext, s: DelegatedStorageRecord, holder: string): Promise<{ storage: BackupStorage; trustId?: string }> {
  if (s.storage_driver === 'local') return { storage: { driver: 'local' } };
  if (!s.sealed_credential) throw new StorageUnavailableError(`the ${holder} holds no Keystone trust`);
  if (!ctx.scheduleTrusts) throw new StorageUnavailableError(`this taskmanager has no Keystone to use the ${holder}'s trust with`);
  const { trust_id } = JSON.parse(ctx.secrets.open(s.sealed_credential)) as { trust_id: string };
  const { token, info } = await ctx.scheduleTrusts.delegation.trustToken(trust_id);
  return { storage: { driver: 'swift', url: await ctx.scheduleTrusts.swiftUrl(info, token), auth_token: token }, trustId: trust_id };
}

/** Deletes a recorded trust with a token scoped to it (impersonation: it acts as the trustor); logs a failure. */
export async function retireTrust(ctx: TaskContext, s: DelegatedStorageRecord, holder: string, ids: Record<string, string>): Promise<void> {
  if (!s.sealed_credential || !ctx.scheduleTrusts) return;
  try {
    const { storage, trustId } = await storageFor(ctx, s, holder);
    if (trustId && storage.auth_token) await ctx.scheduleTrusts.delegation.deleteTrust(storage.auth_token, trustId);
  } catch (err) {
    ctx.log.warn({ ...ids, err: (err as Error).message }, `could not delete the trust of a retired ${holder}`);
  }
}
