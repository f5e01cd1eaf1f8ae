// A guest's heartbeat: the service status it reports, written to service_statuses. The heartbeats
// that arrive while others are being written wait and are written together in the next
// transaction (a group commit): one commit for many guests instead of one each.
import type { Db } from '../db/connection.js';
import { databaseUnavailable } from '../db/connection.js';
import { ensureHeartbeatRows, recordHeartbeats, type HeartbeatReport, type HeartbeatWrite } from '../db/service-statuses.js';
import { grouped, type GroupedOptions } from '../common/grouped.js';
import { scrubSecrets, type Logger } from '../common/log.js';
import { ServiceStatuses, serviceStatusFromDescription } from '../common/service-status.js';

export interface HeartbeatArgs {
  instance_id: string;
  payload: {
    service_status?: string | undefined;
    failure_reason?: string | undefined;
    failure_log_tail?: string | undefined;
    agent_version?: string | undefined;
    agent_rpc_version?: string | undefined;
  };
  sent?: number | undefined;
}

export type HeartbeatOutcome = HeartbeatWrite | 'unknown-status';

/** What a heartbeat writes, or 'unknown-status' (nothing to write). */
function reportOf(log: Logger, args: HeartbeatArgs, now: Date): HeartbeatReport | 'unknown-status' {
  const description = args.payload.service_status;
  const status = description ? serviceStatusFromDescription(description) : undefined;
  if (!status) {
    log.warn({ instance_id: args.instance_id, service_status: description }, 'heartbeat with an unknown service status');
    return 'unknown-status';
  }
  // why a guest failed, in its words (scrubbed again: a secret never reaches a fault); any other status clears it
  const failed = status.code === ServiceStatuses.FAILED.code;
  return {
    instanceId: args.instance_id,
    sent: args.sent ?? now.getTime() / 1000,
    status,
    reason: failed && args.payload.failure_reason ? scrubSecrets(args.payload.failure_reason) : null,
    logTail: failed && args.payload.failure_log_tail ? scrubSecrets(args.payload.failure_log_tail, 8000) : null,
    // the agent's version; none from an agent older than the report of it (it speaks RPC 1.1)
    agentVersion: args.payload.agent_version ?? null,
    agentRpcVersion: args.payload.agent_rpc_version ?? null,
  };
}

/** How many instances the writer remembers as having a last-seen row. */
const KNOWN_KEPT = 100_000;

/** Applies one heartbeat in a transaction of its own. */
export async function applyHeartbeat(db: Db, log: Logger, args: HeartbeatArgs, now = new Date()): Promise<HeartbeatOutcome> {
  const report = reportOf(log, args, now);
  if (report === 'unknown-status') return report;
  return (await recordHeartbeats(db, [report], now))[0]!;
}

/**
 * Applies heartbeats as they come, one transaction at a time: the first at once, the ones that
 * arrive meanwhile together in the next (src/common/grouped.ts; two transactions at once would
 * mostly wait on each other's row locks, the same guests being in both). Each call resolves when
 * its heartbeat is committed (so its message is acknowledged only then), or rejects with the
 * error that kept it from the database. A group that fails for another reason than an
 * unreachable or busy database is written again one heartbeat at a time, so one bad heartbeat
 * fails alone.
 */
export function heartbeatWriter(db: Db, log: Logger, o: GroupedOptions = {}): (args: HeartbeatArgs) => Promise<HeartbeatOutcome> {
  // the instances whose last-seen row this writer made: a new one's is made before its group's
  // transaction (as each heartbeat's was before groups), not by a transaction that finds it missing
  const known = new Set<string>();
  const write = grouped(
    async (reports: HeartbeatReport[]) => {
      const fresh = [...new Set(reports.map((r) => r.instanceId))].filter((id) => !known.has(id));
      if (fresh.length) await ensureHeartbeatRows(db, fresh);
      const outcomes = await recordHeartbeats(db, reports);
      for (const id of fresh) known.add(id);
      while (known.size > KNOWN_KEPT) known.delete(known.values().next().value!);
      return outcomes;
    },
    { parallel: 1, size: 256, ...o },
  );
  return async (args) => {
    const report = reportOf(log, args, new Date());
    if (report === 'unknown-status') return report;
    try {
      return await write(report);
    } catch (err) {
      if (databaseUnavailable(err)) throw err;
      log.warn({ instance_id: report.instanceId, err: (err as Error).message }, 'a group of heartbeats failed; writing this one alone');
      return (await recordHeartbeats(db, [report]))[0]!;
    }
  };
}
