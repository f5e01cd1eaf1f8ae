// A guest's heartbeat: the service status it reports, written to service_statuses.
import type { Db } from '../db/connection.js';
import { scrubSecrets, type Logger } from '../common/log.js';
import { ServiceStatuses, serviceStatusFromDescription } from '../common/service-status.js';
import { acceptIfNewer, ensureLastSeenRow } from './last-seen.js';

export interface HeartbeatArgs {
  instance_id: string;
  payload: { service_status?: string | undefined; failure_reason?: string | undefined; failure_log_tail?: string | undefined };
  sent?: number | undefined;
}

export type HeartbeatOutcome = 'applied' | 'stale' | 'unknown-instance' | 'unknown-status' | 'held';

export async function applyHeartbeat(db: Db, log: Logger, args: HeartbeatArgs, now = new Date()): Promise<HeartbeatOutcome> {
  const description = args.payload.service_status;
  const status = description ? serviceStatusFromDescription(description) : undefined;
  if (!status) {
    log.warn({ instance_id: args.instance_id, service_status: description }, 'heartbeat with an unknown service status');
    return 'unknown-status';
  }
  const sent = args.sent ?? now.getTime() / 1000;
  await ensureLastSeenRow(db, args.instance_id, 'heartbeat');
  return db.transaction(async (trx) => {
    if (!(await acceptIfNewer(trx, args.instance_id, 'heartbeat', sent))) return 'stale';
    const current = await trx('service_statuses').where({ instance_id: args.instance_id }).first('status_id');
    if (!current) return 'unknown-instance';
    // RESTART_REQUIRED is kept until a restart clears it (Trove's conductor does the same);
    // the heartbeat still counts as a sign of life.
    if (current.status_id === ServiceStatuses.RESTART_REQUIRED.code && status.code !== ServiceStatuses.SHUTDOWN.code) {
      await trx('service_statuses').where({ instance_id: args.instance_id }).update({ updated_at: now });
      return 'held';
    }
    // why a guest failed, in its words (scrubbed again: a secret never reaches a fault); any other status clears it
    const failed = status.code === ServiceStatuses.FAILED.code;
    await trx('service_statuses')
      .where({ instance_id: args.instance_id })
      .update({
        status_id: status.code,
        status_description: status.description,
        updated_at: now,
        status_reason: failed && args.payload.failure_reason ? scrubSecrets(args.payload.failure_reason) : null,
        status_log_tail: failed && args.payload.failure_log_tail ? scrubSecrets(args.payload.failure_log_tail, 8000) : null,
      });
    return 'applied';
  });
}
