// Backup schedules (trove-ts extension): a cron expression and a retention count per instance.
// A taskmanager claims a due run by moving next_run_at forward with a compare-and-set, and the
// retention pass of a schedule under a short lease, so two taskmanagers never do either twice.
import type { Knex } from 'knex';
import type { Db } from './connection.js';

export interface BackupScheduleRecord {
  id: string;
  tenant_id: string;
  instance_id: string;
  name: string;
  cron: string;
  retention: number;
  enabled: boolean;
  next_run_at: Date | null;
  last_run_at: Date | null;
  last_backup_id: string | null;
  last_error: string | null;
  storage_driver: 'local' | 'swift';
  user_id: string | null;
  sealed_credential: string | null;
  created: Date;
  updated: Date;
}

type Row = Record<string, unknown>;

/** SQLite hands dates back as epoch ms and booleans as 0/1; MySQL as Date and 0/1. */
const asDate = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(v as string | number | Date));

function toRecord(r: Row): BackupScheduleRecord {
  return {
    id: r.id as string,
    tenant_id: r.tenant_id as string,
    instance_id: r.instance_id as string,
    name: r.name as string,
    cron: r.cron as string,
    retention: Number(r.retention),
    enabled: Boolean(r.enabled),
    next_run_at: asDate(r.next_run_at),
    last_run_at: asDate(r.last_run_at),
    last_backup_id: (r.last_backup_id as string | null) ?? null,
    last_error: (r.last_error as string | null) ?? null,
    storage_driver: r.storage_driver as 'local' | 'swift',
    user_id: (r.user_id as string | null) ?? null,
    sealed_credential: (r.sealed_credential as string | null) ?? null,
    created: asDate(r.created)!,
    updated: asDate(r.updated)!,
  };
}

const live = (db: Db | Knex.Transaction) => db('backup_schedules').where({ deleted: false });

export async function listSchedules(db: Db, projectId: string, instanceId: string): Promise<BackupScheduleRecord[]> {
  const rows = await live(db)
    .where({ tenant_id: projectId, instance_id: instanceId })
    .orderBy([
      { column: 'created', order: 'asc' },
      { column: 'id', order: 'asc' },
    ]);
  return (rows as Row[]).map(toRecord);
}

export async function getSchedule(db: Db, id: string, instanceId?: string): Promise<BackupScheduleRecord | undefined> {
  const q = live(db).where({ id });
  if (instanceId !== undefined) q.where({ instance_id: instanceId });
  const r = (await q.first()) as Row | undefined;
  return r ? toRecord(r) : undefined;
}

export async function countSchedules(db: Db | Knex.Transaction, instanceId: string): Promise<number> {
  const r = (await live(db).where({ instance_id: instanceId }).count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(r?.n ?? 0);
}

export type NewBackupSchedule = Omit<BackupScheduleRecord, 'last_run_at' | 'last_backup_id' | 'last_error' | 'created' | 'updated'>;

export async function insertSchedule(db: Db | Knex.Transaction, s: NewBackupSchedule, now = new Date()): Promise<void> {
  await db('backup_schedules').insert({ ...s, created: now, updated: now, deleted: false });
}

export type SchedulePatch = Partial<Pick<BackupScheduleRecord, 'cron' | 'retention' | 'enabled' | 'next_run_at' | 'last_error'>>;

export async function updateSchedule(db: Db, id: string, patch: SchedulePatch, now = new Date()): Promise<void> {
  await live(db)
    .where({ id })
    .update({ ...patch, updated: now });
}

export async function markScheduleDeleted(db: Db, id: string, now = new Date()): Promise<number> {
  return live(db).where({ id }).update({ deleted: true, deleted_at: now, updated: now, enabled: false });
}

/** Enabled schedules whose next run is due at `now`. */
export async function dueSchedules(db: Db, now: Date): Promise<BackupScheduleRecord[]> {
  const rows = await live(db).where({ enabled: true }).whereNotNull('next_run_at').where('next_run_at', '<=', now).orderBy('next_run_at', 'asc');
  return (rows as Row[]).map(toRecord);
}

/**
 * Claims the run that was due at `dueAt` (the next_run_at this taskmanager read) by moving
 * next_run_at to `next`: true for exactly one taskmanager.
 */
export async function claimRun(db: Db, id: string, dueAt: Date, next: Date, now: Date): Promise<boolean> {
  const n = await live(db)
    .where({ id, enabled: true })
    .where('next_run_at', '<=', now)
    .where('next_run_at', dueAt)
    .update({ next_run_at: next, last_run_at: now, updated: now });
  return n > 0;
}

/** What the claimed run gave: the backup it started, or why it started none. */
export async function recordRun(db: Db, id: string, r: { backupId: string | null; error: string | null }): Promise<void> {
  const patch: Row = { last_error: r.error === null ? null : r.error.slice(0, 255), updated: new Date() };
  if (r.backupId) patch.last_backup_id = r.backupId;
  await db('backup_schedules').where({ id }).update(patch);
}

/** Every schedule that is not deleted (retention applies to disabled ones too). */
export async function activeSchedules(db: Db): Promise<BackupScheduleRecord[]> {
  return ((await live(db).select()) as Row[]).map(toRecord);
}

/** A lease on the schedule's retention pass (true: this taskmanager may delete its old backups now). */
export async function claimRetention(db: Db, id: string, now: Date, seconds: number): Promise<boolean> {
  const n = await db('backup_schedules')
    .where({ id })
    .andWhere((q) => q.whereNull('retention_lease_until').orWhere('retention_lease_until', '<', now))
    .update({ retention_lease_until: new Date(now.getTime() + seconds * 1000) });
  return n > 0;
}

export async function releaseRetention(db: Db, id: string): Promise<void> {
  await db('backup_schedules').where({ id }).update({ retention_lease_until: null });
}

export interface ScheduledBackup {
  id: string;
  name: string;
  state: string;
  created: Date;
}

/** The schedule's backups that are not deleted, oldest first (the name carries the run's UTC time). */
export async function backupsOfSchedule(db: Db, scheduleId: string): Promise<ScheduledBackup[]> {
  const rows = await db('backups')
    .where({ schedule_id: scheduleId, deleted: false })
    .orderBy([
      { column: 'created', order: 'asc' },
      { column: 'name', order: 'asc' },
    ])
    .select('id', 'name', 'state', 'created');
  return (rows as Row[]).map((r) => ({ id: r.id as string, name: r.name as string, state: r.state as string, created: asDate(r.created)! }));
}

/**
 * The backups retention removes: the oldest COMPLETED ones beyond the newest `retention`
 * COMPLETED ones; FAILED ones but the newest (kept to look at; each holds a backup of quota);
 * and DELETE_FAILED ones (a delete to retry). Running backups are never counted nor touched.
 */
export function retentionVictims<B extends { state: string }>(oldestFirst: B[], retention: number): B[] {
  const completed = oldestFirst.filter((b) => b.state === 'COMPLETED');
  const failed = oldestFirst.filter((b) => b.state === 'FAILED');
  return [
    ...completed.slice(0, Math.max(0, completed.length - retention)),
    ...failed.slice(0, Math.max(0, failed.length - 1)),
    ...oldestFirst.filter((b) => b.state === 'DELETE_FAILED'),
  ];
}
