// The newest `sent` time the conductor applied per instance and guest method (Trove's
// conductor_lastseen): an older or repeated message is dropped. The row lock taken on it inside the
// transaction that applies a message serialises conductors, so two can run at once.
import type { Knex } from 'knex';
import type { Db } from './connection.js';
import { lockForUpdate } from './dialect.js';

const TABLE = 'conductor_lastseen';

/** Creates the (instance, method) rows that are missing, outside any transaction, so a locking read finds them. */
export async function ensureLastSeenRows(db: Db, method: string, instanceIds: string[]): Promise<void> {
  if (!instanceIds.length) return;
  await db(TABLE)
    .insert(instanceIds.map((id) => ({ instance_id: id, method_name: method, sent: -1 })))
    .onConflict(['instance_id', 'method_name'])
    .ignore();
}

/**
 * Records `sent` for (instance, method) and returns true when it is newer than what was seen;
 * false (and nothing written) for a stale or duplicate message. Call ensureLastSeenRows first.
 */
export async function acceptIfNewer(trx: Knex.Transaction, instanceId: string, method: string, sent: number): Promise<boolean> {
  const key = { instance_id: instanceId, method_name: method };
  const row = await lockForUpdate(trx, trx(TABLE).where(key)).first();
  if (Number(row.sent) >= sent) return false;
  await trx(TABLE).where(key).update({ sent });
  return true;
}

/** Writes the new `sent` of each instance (whose row the caller locked), in one statement. */
export async function writeLastSeen(trx: Knex.Transaction, method: string, sent: Map<string, number>): Promise<void> {
  if (!sent.size) return;
  const ids = [...sent.keys()];
  await trx(TABLE)
    .where({ method_name: method })
    .whereIn('instance_id', ids)
    .update({
      sent: trx.raw(
        `case instance_id ${ids.map(() => 'when ? then ?').join(' ')} end`,
        ids.flatMap((id) => [id, sent.get(id)!]),
      ),
    });
}
