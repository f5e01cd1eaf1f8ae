// Who enabled root on an instance and when (root_enabled_history, one row per instance: the last time).
import type { Db } from './connection.js';

export interface RootHistoryRow {
  id: string;
  user: string | null;
  created: Date | string | null;
}

export async function rootHistory(db: Db, instanceId: string): Promise<RootHistoryRow | undefined> {
  return (await db('root_enabled_history').where({ id: instanceId }).first('id', 'user', 'created')) as RootHistoryRow | undefined;
}

/** Root was enabled on the instance by `user` at `at` (replaces the previous record). */
export async function recordRootEnabled(db: Db, instanceId: string, user: string | null, at = new Date()): Promise<void> {
  const existing = await db('root_enabled_history').where({ id: instanceId }).first('id');
  if (existing) await db('root_enabled_history').where({ id: instanceId }).update({ user, created: at, deleted_at: null });
  else await db('root_enabled_history').insert({ id: instanceId, user, created: at });
}
