// Drops guest messages older than the newest one already applied for the same instance and
// method (Trove's conductor_lastseen). Call it inside the transaction that applies the message:
// the row lock it takes serialises conductors, so two can run at once.
import type { Knex } from 'knex';
import type { Db } from '../db/connection.js';
import { lockForUpdate } from '../db/dialect.js';

/** Creates the (instance, method) row outside any transaction, so the locking read always finds it. */
export async function ensureLastSeenRow(db: Db, instanceId: string, method: string): Promise<void> {
  await db('conductor_lastseen').insert({ instance_id: instanceId, method_name: method, sent: -1 }).onConflict(['instance_id', 'method_name']).ignore();
}

/**
 * Records `sent` for (instance, method) and returns true when it is newer than what was seen;
 * false (and nothing written) for a stale or duplicate message.
 */
export async function acceptIfNewer(trx: Knex.Transaction, instanceId: string, method: string, sent: number): Promise<boolean> {
  const key = { instance_id: instanceId, method_name: method };
  const row = await lockForUpdate(trx, trx('conductor_lastseen').where(key)).first();
  if (Number(row.sent) >= sent) return false;
  await trx('conductor_lastseen').where(key).update({ sent });
  return true;
}
