// Guests' heartbeats into service_statuses, each checked against conductor_lastseen so that an
// older or repeated heartbeat is dropped. Many heartbeats are written in one transaction (the
// conductor groups the ones that arrive together): a handful of statements and one commit for
// all of them, instead of a transaction each.
import type { Db } from './connection.js';
import { lockForUpdate } from './dialect.js';
import { ensureLastSeenRows, writeLastSeen } from './last-seen.js';
import { ServiceStatuses, type ServiceStatus } from '../common/service-status.js';

const METHOD = 'heartbeat';

export interface HeartbeatReport {
  instanceId: string;
  /** when the guest sent it (epoch seconds): the newest one of an instance wins */
  sent: number;
  status: ServiceStatus;
  /** why the guest failed, and its log's tail (null clears them) */
  reason: string | null;
  logTail: string | null;
  /** the agent's package version and the guest RPC API version it serves (null: not reported) */
  agentVersion: string | null;
  agentRpcVersion: string | null;
}

function agentFields(r: HeartbeatReport): { agent_version: string | null; agent_rpc_version: string | null } {
  return { agent_version: r.agentVersion, agent_rpc_version: r.agentRpcVersion };
}

function groupBy<T>(items: T[], key: (t: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const t of items) groups.set(key(t), [...(groups.get(key(t)) ?? []), t]);
  return [...groups.values()];
}

/**
 * Makes the instances' conductor_lastseen rows for heartbeats that are missing, outside any
 * transaction (so the locking read of recordHeartbeats finds them): for instances whose heartbeats
 * the caller has not written yet. recordHeartbeats makes them itself otherwise, at the cost of a
 * transaction.
 */
export async function ensureHeartbeatRows(db: Db, instanceIds: string[]): Promise<void> {
  await ensureLastSeenRows(db, METHOD, instanceIds);
}

/** applied; stale (an older or repeated heartbeat, nothing written); no status row for the
 * instance; held (RESTART_REQUIRED kept, only the time of the heartbeat written). */
export type HeartbeatWrite = 'applied' | 'stale' | 'unknown-instance' | 'held';

/**
 * Writes heartbeats at `at` in one transaction and returns each one's outcome, in order. Of the
 * heartbeats of one instance only the newest is applied, and only when it is newer than the last
 * one applied (under the lock of the instance's conductor_lastseen row). RESTART_REQUIRED is kept
 * until a restart clears it (only SHUTDOWN replaces it, as in Trove's conductor); such a
 * heartbeat still counts as a sign of life.
 */
export async function recordHeartbeats(db: Db, reports: HeartbeatReport[], at = new Date()): Promise<HeartbeatWrite[]> {
  const newest = new Map<string, HeartbeatReport>();
  for (const r of reports) {
    const seen = newest.get(r.instanceId);
    if (!seen || r.sent > seen.sent) newest.set(r.instanceId, r);
  }
  const ids = [...newest.keys()];
  for (let attempt = 0; ; attempt++) {
    const written = await db.transaction(async (trx): Promise<{ missing: string[] } | { outcome: Map<HeartbeatReport, HeartbeatWrite> }> => {
      // one locking read of both rows of each instance, in id order (two conductors lock alike)
      const rows = (await lockForUpdate(
        trx,
        trx('conductor_lastseen as l')
          .leftJoin('service_statuses as s', 's.instance_id', 'l.instance_id')
          .where('l.method_name', METHOD)
          .whereIn('l.instance_id', [...ids].sort())
          .orderBy('l.instance_id')
          .select('l.instance_id', 'l.sent', 's.status_id'),
      )) as Array<{ instance_id: string; sent: number | string; status_id: number | null }>;
      const lastSeen = new Map(rows.map((r) => [r.instance_id, Number(r.sent)]));
      const current = new Map(rows.filter((r) => r.status_id !== null).map((r) => [r.instance_id, Number(r.status_id)]));
      const missing = ids.filter((id) => !lastSeen.has(id));
      if (missing.length) return { missing };
      const accepted = [...newest.values()].filter((r) => r.sent > lastSeen.get(r.instanceId)!);
      const outcome = new Map<HeartbeatReport, HeartbeatWrite>();
      if (!accepted.length) return { outcome };
      await writeLastSeen(trx, METHOD, new Map(accepted.map((r) => [r.instanceId, r.sent])));
      const held: HeartbeatReport[] = [];
      const groups = new Map<string, { fields: Record<string, unknown>; ids: string[] }>();
      for (const r of accepted) {
        const status = current.get(r.instanceId);
        if (status === undefined) {
          outcome.set(r, 'unknown-instance');
        } else if (status === ServiceStatuses.RESTART_REQUIRED.code && r.status.code !== ServiceStatuses.SHUTDOWN.code) {
          outcome.set(r, 'held');
          held.push(r);
        } else {
          outcome.set(r, 'applied');
          // the heartbeats that write the same values are one statement
          const fields = {
            status_id: r.status.code,
            status_description: r.status.description,
            status_reason: r.reason,
            status_log_tail: r.logTail,
            ...agentFields(r),
          };
          const key = JSON.stringify(fields);
          const group = groups.get(key) ?? { fields, ids: [] as string[] };
          group.ids.push(r.instanceId);
          groups.set(key, group);
        }
      }
      // a held status still takes the time of the heartbeat and the agent's version
      for (const g of groupBy(held, (r) => JSON.stringify(agentFields(r))))
        await trx('service_statuses')
          .whereIn(
            'instance_id',
            g.map((r) => r.instanceId),
          )
          .update({ ...agentFields(g[0]!), updated_at: at });
      for (const g of groups.values())
        await trx('service_statuses')
          .whereIn('instance_id', g.ids)
          .update({ ...g.fields, updated_at: at });
      return { outcome };
    });
    if ('outcome' in written) return reports.map((r) => written.outcome.get(r) ?? 'stale');
    // an instance's first heartbeat: its row is made outside the transaction, and the heartbeats tried again
    if (attempt >= 2) throw new Error(`no conductor_lastseen row for ${written.missing.join(', ')}`);
    await ensureLastSeenRows(db, METHOD, written.missing);
  }
}
