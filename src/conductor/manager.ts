// trove-conductor's handlers: guest reports into the database, stale ones dropped.
import type { Db } from '../db/connection.js';
import { recordBackupReport, type BackupReport } from '../db/backups.js';
import { recordVolumeUsed } from '../db/instances.js';
import { recordRootEnabled } from '../db/root-history.js';
import { scrubSecrets, type Logger } from '../common/log.js';
import type { Handlers } from '../rpc/contract.js';
import type { ConductorContract } from '../rpc/contracts/conductor.js';
import { heartbeatWriter } from './heartbeat.js';
import { EngineMetricsRecorder } from './engine-metrics.js';
import { OPENED_BY } from '../rpc/encryption.js';
import { noteHeartbeat } from '../common/metrics/metrics.js';
import { serviceStatusFromDescription } from '../common/service-status.js';
import type { Notifier } from '../notifications/notifier.js';
import { noticeFromSerialized, sendEnd, sendReportedError } from '../notifications/dbaas.js';

export interface ConductorHandlerOptions {
  /** Whether the instance talks encrypted (has an RPC key): a plain message about it is then refused. */
  sealed?: (instanceId: string) => Promise<boolean>;
  /** Where the guests' dbaas notifications (notify_end, notify_exc_info) go on. */
  notifier?: Notifier;
  /** Where the heartbeats' engine metrics go (default: one with the default [DEFAULT] metrics keys). */
  metrics?: EngineMetricsRecorder;
}

/**
 * A guest reports only on its own instance: the instance whose key opened the message must be the
 * one its arguments name (a guest holding instance A's key cannot report heartbeats, backups or
 * root for B), and a plain message is taken only for an instance that has no key.
 */
async function checkSender(o: ConductorHandlerOptions, instanceId: string, context: Record<string, unknown>): Promise<void> {
  const opened = context[OPENED_BY];
  if (opened !== undefined) {
    if (opened !== instanceId) throw new Error(`refused: a message sealed with the key of instance ${String(opened)} reports on instance ${instanceId}`);
    return;
  }
  if (o.sealed && (await o.sealed(instanceId))) throw new Error(`refused: a plain message reports on instance ${instanceId}, which talks encrypted`);
}

/** A guest's clock ahead of ours counts as now: a `sent` in the future would make every later report look stale. */
const clampSent = (sent: number | null | undefined): number => Math.min(sent ?? Infinity, Date.now() / 1000);

export function conductorHandlers(db: Db, log: Logger, o: ConductorHandlerOptions = {}): Handlers<ConductorContract> {
  const heartbeat = heartbeatWriter(db, log);
  const metrics = o.metrics ?? new EngineMetricsRecorder(db, log);
  const handlers: Handlers<ConductorContract> = {
    heartbeat: async (a) => {
      const status = a.payload.service_status;
      noteHeartbeat(a.instance_id, (status && serviceStatusFromDescription(status)?.description) ?? 'unknown');
      const sent = clampSent(a.sent);
      const outcome = await heartbeat({ ...a, sent });
      // the status is written whatever the metrics are; malformed metrics are dropped alone
      if (outcome === 'applied' || outcome === 'held') await metrics.take(a.instance_id, a.payload.metrics);
    },
    report_usage: async (a) => {
      await recordVolumeUsed(db, a.instance_id, clampSent(a.sent), a.used_gb);
    },
    update_backup: async (a) => {
      // only the backup of that instance, and only the fields the guest reported
      const fields: BackupReport = {};
      if (a.size !== undefined && a.size !== null) fields.size = a.size;
      if (a.state) fields.state = a.state;
      if (a.backup_type) fields.backup_type = a.backup_type;
      if (a.checksum) fields.checksum = a.checksum;
      if (a.location) fields.location = a.location;
      if (a.success !== undefined && !a.state) fields.state = a.success ? 'COMPLETED' : 'FAILED';
      // why a FAILED backup failed, in the guest's words (scrubbed again); any other state clears it
      if (fields.state) fields.fail_reason = fields.state === 'FAILED' && a.fail_reason ? scrubSecrets(a.fail_reason) : null;
      if (!(await recordBackupReport(db, a.backup_id, a.instance_id, fields)))
        log.warn({ instance_id: a.instance_id, backup_id: a.backup_id }, 'update_backup for an unknown backup');
    },
    report_root: async (a) => {
      await recordRootEnabled(db, a.instance_id, a.user ?? null);
    },
    // Trove's conductor: a guest's dbaas notification (SerializableNotification) ended or failed
    notify_end: async (a) => {
      const n = noticeFromSerialized(a.serialized_notification);
      if (!n) return void log.info({ classname: a.serialized_notification.notification_classname ?? null }, 'guest notification of no known action');
      if (o.notifier) await sendEnd(o.notifier, n, String(n.payload.server_type ?? 'conductor'), a.notification_args, log);
    },
    notify_exc_info: async (a) => {
      const n = noticeFromSerialized(a.serialized_notification);
      if (!n)
        return void log.warn(
          { classname: a.serialized_notification.notification_classname ?? null, message: a.message },
          'guest error notification of no known action',
        );
      if (o.notifier) await sendReportedError(o.notifier, n, String(n.payload.server_type ?? 'conductor'), a.message, a.exception, log);
    },
  };
  // a verb that names an instance is checked against the sender before it is handled (notifications name none)
  return Object.fromEntries(
    Object.entries(handlers).map(([verb, h]) => [
      verb,
      async (a: { instance_id?: unknown }, ctx: { context: Record<string, unknown>; method: string }) => {
        if (typeof a.instance_id === 'string') await checkSender(o, a.instance_id, ctx.context);
        return (h as (a: unknown, ctx: unknown) => Promise<unknown>)(a, ctx);
      },
    ]),
  ) as unknown as Handlers<ConductorContract>;
}
