// Runs backup schedules (trove-ts extension). Every backup_schedule_interval seconds: each due,
// enabled schedule is claimed (next_run_at moved forward with a compare-and-set, so two
// taskmanagers never run it twice) and its backup started exactly as POST /backups does (quota,
// NEW row, container, the BACKUP flow); then each schedule's retention is applied: the oldest
// COMPLETED backups it made beyond `retention` are deleted, and its FAILED ones but the newest.
// Manual backups are never touched (they have no schedule_id).
import { randomUUID } from 'node:crypto';
import { nextRun } from '../common/cron-schedule.js';
import { QuotaExceededError } from '../common/errors.js';
import { Tasks, taskFromCode } from '../common/instance-tasks.js';
import { ServiceStatuses } from '../common/service-status.js';
import {
  activeSchedules,
  backupsOfSchedule,
  claimRetention,
  claimRun,
  dueSchedules,
  markScheduleDeleted,
  recordRun,
  releaseRetention,
  retentionVictims,
  type BackupScheduleRecord,
} from '../db/backup-schedules.js';
import { childBackups, containerFor, newBackupInfo, reserveBackup, runningBackupOf, type NewBackup } from '../db/backups.js';
import { getVersionById } from '../db/datastores.js';
import { getInstance, type InstanceRecord } from '../db/instances.js';
import { quotaLimits } from '../db/quotas.js';
import { deleteBackup } from './backup-delete.js';
import type { TaskContext } from './context.js';
import { startPeriodic } from './periodic.js';
import { beginBackup } from './flows/backup.js';
import { retireTrust, storageFor } from './trusted-storage.js';

/** Seconds a taskmanager holds a schedule's retention pass. */
const RETENTION_LEASE_SECONDS = 300;

const ENGINE_UP = new Set<number>([ServiceStatuses.RUNNING.code, ServiceStatuses.HEALTHY.code, ServiceStatuses.RESTART_REQUIRED.code]);

/** A run that was skipped for a reason the user should see in last_error. */
class SkipRun extends Error {}

/** `nightly-20260101T020000Z`: the schedule's name and the run's UTC time. */
export function scheduledBackupName(scheduleName: string, at: Date): string {
  return `${scheduleName}-${at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '')}`;
}

/** Why the instance cannot be backed up now, or undefined when it can. */
export function busyReason(r: InstanceRecord, running: boolean, heartbeatExpirySeconds: number, now = Date.now()): string | undefined {
  if (r.server_status !== 'ACTIVE') return `instance status was ${r.server_status ?? 'BUILD'}`;
  if (r.task_id !== Tasks.NONE.code && r.task_id !== Tasks.RESTART_REQUIRED.code) return `the instance is busy (task ${taskFromCode(r.task_id).action})`;
  if (r.flow_state) return 'the instance is busy with another task';
  if (!ENGINE_UP.has(r.service_status_id ?? -1)) return 'the database engine is not running';
  const seen = r.service_status_updated ? new Date(r.service_status_updated).getTime() : 0;
  if (now - seen > heartbeatExpirySeconds * 1000) return 'the guest agent has not reported recently';
  if (running) return 'a backup of the instance is already running';
  return undefined;
}

/** A schedule whose instance is gone ends with it (its trust too); its backups stay. */
async function retire(ctx: TaskContext, s: BackupScheduleRecord): Promise<void> {
  await markScheduleDeleted(ctx.db, s.id);
  await retireTrust(ctx, s, 'backup schedule', { schedule_id: s.id });
  ctx.log.info({ schedule_id: s.id, instance_id: s.instance_id }, 'backup schedule retired: its instance is deleted');
}

/** Starts the schedule's backup; resolves its id. Throws SkipRun (or a driver error) when it cannot. */
async function startBackup(ctx: TaskContext, s: BackupScheduleRecord, instance: InstanceRecord, now: Date): Promise<string> {
  const running = Boolean(await runningBackupOf(ctx.db, instance.id));
  const reason = busyReason(instance, running, ctx.config.agent_heartbeat_expiry);
  if (reason) throw new SkipRun(`skipped: ${reason}`);
  const version = await getVersionById(ctx.db, instance.datastore_version_id);
  if (!version) throw new SkipRun('skipped: the instance has no datastore version');
  const { storage } = await storageFor(ctx, s, 'schedule');
  const container = await containerFor(ctx.db, s.tenant_id, instance.id, ctx.config.backup_swift_container);
  const limits = await quotaLimits(ctx.db, s.tenant_id, { instances: -1, ram: -1, volumes: -1, backups: ctx.config.max_backups_per_tenant });
  const record: NewBackup = {
    id: randomUUID(),
    name: scheduledBackupName(s.name, now),
    description: `Scheduled backup (backup schedule ${s.name}, ${s.id})`,
    tenantId: s.tenant_id,
    instanceId: instance.id,
    parentId: null,
    datastoreVersionId: version.id,
    storageDriver: storage.driver,
    backupType: 'full',
    scheduleId: s.id,
  };
  try {
    await reserveBackup(ctx.db, record, limits);
  } catch (err) {
    if (err instanceof QuotaExceededError) throw new SkipRun(`skipped: ${err.message}`);
    throw err;
  }
  if (!(await beginBackup(ctx, instance.id, newBackupInfo(record, version, container), storage))) {
    throw new SkipRun(`backup ${record.id} failed: the instance became busy with another task`);
  }
  return record.id;
}

/** Claims and starts every due schedule. Resolves the ids of the backups started. */
export async function runDueSchedules(ctx: TaskContext, now: Date): Promise<string[]> {
  const started: string[] = [];
  for (const s of await dueSchedules(ctx.db, now)) {
    if (!(await claimRun(ctx.db, s.id, s.next_run_at!, nextRun(s.cron, now), now))) continue;
    const instance = await getInstance(ctx.db, s.instance_id, s.tenant_id);
    if (!instance) {
      await retire(ctx, s);
      continue;
    }
    try {
      const backupId = await startBackup(ctx, s, instance, now);
      await recordRun(ctx.db, s.id, { backupId, error: null });
      started.push(backupId);
      ctx.log.info({ schedule_id: s.id, instance_id: s.instance_id, backup_id: backupId }, 'scheduled backup started');
    } catch (err) {
      const message = (err as Error).message;
      await recordRun(ctx.db, s.id, { backupId: null, error: message });
      ctx.log.warn({ schedule_id: s.id, instance_id: s.instance_id, reason: message }, 'scheduled backup not started');
    }
  }
  return started;
}

/** Deletes what each schedule's retention lets go. Resolves the ids of the backups deleted. */
export async function applyRetention(ctx: TaskContext): Promise<string[]> {
  const deleted: string[] = [];
  for (const s of await activeSchedules(ctx.db)) {
    const victims = retentionVictims(await backupsOfSchedule(ctx.db, s.id), s.retention);
    if (!victims.length || !(await claimRetention(ctx.db, s.id, new Date(), RETENTION_LEASE_SECONDS))) continue;
    try {
      const { storage } = await storageFor(ctx, s, 'schedule');
      for (const b of victims) {
        if ((await childBackups(ctx.db, b.id)).length) continue; // an incremental builds on it
        await deleteBackup(ctx, b.id, storage);
        deleted.push(b.id);
        ctx.log.info({ schedule_id: s.id, backup_id: b.id, state: b.state }, "backup deleted by the schedule's retention");
      }
    } catch (err) {
      ctx.log.warn({ schedule_id: s.id, err: (err as Error).message }, 'retention of a backup schedule failed; retrying at the next tick');
    } finally {
      await releaseRetention(ctx.db, s.id);
    }
  }
  return deleted;
}

export async function tickSchedules(ctx: TaskContext, now: Date): Promise<{ started: string[]; deleted: string[] }> {
  const started = await runDueSchedules(ctx, now);
  const deleted = await applyRetention(ctx);
  return { started, deleted };
}

/**
 * Ticks every backup_schedule_interval seconds. `clock` is the scheduler's notion of now (cron
 * matching, next runs, backup names); tests give it a faster clock instead of waiting for minutes.
 */
export function startBackupScheduler(ctx: TaskContext, clock: () => Date = () => new Date()): () => Promise<void> {
  return startPeriodic(ctx.log, ctx.config.backup_schedule_interval, 'backup schedule tick failed', () => tickSchedules(ctx, clock()));
}
