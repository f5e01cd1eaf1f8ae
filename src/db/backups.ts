// Backups (the backups table, with their datastore version's names) and backup strategies.
import type { Knex } from 'knex';
import type { Db } from './connection.js';
import { QuotaExceededError } from '../common/errors.js';
import type { BackupInfo } from '../rpc/contracts/common.js';
import { applyUsage, changeUsage, ensureUsageRows, UNLIMITED, type QuotaLimits } from './quotas.js';

export const RUNNING_BACKUP_STATES = ['NEW', 'BUILDING', 'SAVING'] as const;
export const BACKUP_STATES = ['NEW', 'BUILDING', 'SAVING', 'COMPLETED', 'FAILED', 'DELETE_FAILED', 'RESTORED'] as const;
export type BackupState = (typeof BACKUP_STATES)[number];

export interface BackupRecord {
  id: string;
  name: string;
  description: string | null;
  location: string | null;
  backup_type: string | null;
  size: number | null;
  tenant_id: string;
  state: BackupState;
  instance_id: string | null;
  checksum: string | null;
  parent_id: string | null;
  datastore_version_id: string | null;
  storage_driver: string | null;
  /** the backup schedule that made it (trove-ts extension), null for a manual backup */
  schedule_id: string | null;
  /** why a FAILED backup failed, in the guest's words (trove-ts extension) */
  fail_reason?: string | null;
  created: Date;
  updated: Date;
  datastore_name: string | null;
  datastore_version_name: string | null;
  datastore_manager: string | null;
}

function selectRecords(db: Db | Knex.Transaction): Knex.QueryBuilder {
  return db('backups as b')
    .leftJoin('datastore_versions as v', 'v.id', 'b.datastore_version_id')
    .leftJoin('datastores as d', 'd.id', 'v.datastore_id')
    .where('b.deleted', false)
    .select('b.*', 'd.name as datastore_name', 'v.name as datastore_version_name', 'v.manager as datastore_manager');
}

export async function getBackup(db: Db | Knex.Transaction, id: string, projectId?: string): Promise<BackupRecord | undefined> {
  const q = selectRecords(db).where('b.id', id);
  if (projectId !== undefined) q.where('b.tenant_id', projectId);
  return (await q.first()) as BackupRecord | undefined;
}

export interface BackupQuery {
  projectId?: string | undefined;
  instanceId?: string | undefined;
  datastore?: string | undefined;
  limit: number;
  /** offset into the list (Trove's backup marker) */
  offset: number;
}

/** Newest first (Trove orders by `updated` descending), one row past the page to know if there is more. */
export async function listBackups(db: Db, q: BackupQuery): Promise<{ items: BackupRecord[]; more: boolean }> {
  const query = selectRecords(db);
  if (q.projectId !== undefined) query.where('b.tenant_id', q.projectId);
  if (q.instanceId !== undefined) query.where('b.instance_id', q.instanceId);
  if (q.datastore !== undefined) query.where((w) => w.where('d.name', q.datastore!).orWhere('d.id', q.datastore!));
  const rows = (await query
    .orderBy([
      { column: 'b.updated', order: 'desc' },
      { column: 'b.id', order: 'asc' },
    ])
    .offset(q.offset)
    .limit(q.limit + 1)) as BackupRecord[];
  return { items: rows.slice(0, q.limit), more: rows.length > q.limit };
}

export interface NewBackup {
  id: string;
  name: string;
  description: string | null;
  tenantId: string;
  instanceId: string;
  parentId: string | null;
  datastoreVersionId: string;
  storageDriver: string;
  backupType: string;
  scheduleId?: string | null;
}

export async function insertBackup(db: Db | Knex.Transaction, b: NewBackup, now = new Date()): Promise<void> {
  await db('backups').insert({
    id: b.id,
    name: b.name,
    description: b.description,
    tenant_id: b.tenantId,
    instance_id: b.instanceId,
    parent_id: b.parentId,
    datastore_version_id: b.datastoreVersionId,
    storage_driver: b.storageDriver,
    backup_type: b.backupType,
    schedule_id: b.scheduleId ?? null,
    state: 'NEW',
    created: now,
    updated: now,
    deleted: false,
  });
}

/**
 * Takes one backup of the project's quota and inserts the NEW row in the same transaction (the
 * API's POST /backups and the backup scheduler); throws QuotaExceededError, inserting nothing.
 */
export async function reserveBackup(db: Db, b: NewBackup, limits: QuotaLimits): Promise<void> {
  await ensureUsageRows(db, b.tenantId, { backups: 1 });
  await db.transaction(async (trx) => {
    const over = await applyUsage(trx, b.tenantId, { backups: 1 }, limits);
    if (over.length) throw new QuotaExceededError(over);
    await insertBackup(trx, b);
  });
}

/** What the guest is told about a new backup (Trove's backup_info). */
export function newBackupInfo(
  b: NewBackup,
  version: { manager: string; name: string },
  container: string,
  parent: { location: string; checksum: string | null } | null = null,
): BackupInfo {
  return {
    id: b.id,
    name: b.name,
    description: b.description,
    instance_id: b.instanceId,
    backup_type: b.backupType,
    parent,
    datastore: version.manager,
    datastore_version: version.name,
    storage_driver: b.storageDriver,
    swift_container: container,
  };
}

/** `failReason`: why it is FAILED (shown by backup show). */
export async function setBackupState(
  db: Db | Knex.Transaction,
  id: string,
  state: BackupState,
  only?: readonly BackupState[],
  failReason?: string,
): Promise<number> {
  const q = db('backups').where({ id, deleted: false });
  if (only) q.whereIn('state', only as BackupState[]);
  return q.update({ state, updated: new Date(), ...(failReason !== undefined ? { fail_reason: failReason } : {}) });
}

export async function markBackupDeleted(db: Db | Knex.Transaction, id: string): Promise<void> {
  await db('backups').where({ id }).update({ deleted: true, deleted_at: new Date(), updated: new Date() });
}

/** The incremental backups built on this one (not deleted). */
export async function childBackups(db: Db | Knex.Transaction, id: string): Promise<Array<{ id: string }>> {
  return db('backups').where({ parent_id: id, deleted: false }).select('id');
}

/**
 * The instance's newest COMPLETED backup (the parent of `incremental: 1`). Timestamps have
 * one-second precision, so among backups of the same second the one no other builds on wins.
 */
export async function lastCompletedBackup(db: Db, instanceId: string): Promise<BackupRecord | undefined> {
  const rows = (await selectRecords(db)
    .where({ 'b.instance_id': instanceId, 'b.state': 'COMPLETED' })
    .orderBy('b.created', 'desc')
    .limit(50)) as BackupRecord[];
  const newest = rows[0];
  if (!newest) return undefined;
  const parents = new Set(rows.map((r) => r.parent_id));
  const sameSecond = rows.filter((r) => new Date(r.created).getTime() === new Date(newest.created).getTime());
  return sameSecond.find((r) => !parents.has(r.id)) ?? newest;
}

/**
 * The instance's newest backup COMPLETED before `time` (a point-in-time restore starts from it).
 * `updated` has one-second precision: strictly before, so a backup finished later within T's own
 * second is not taken.
 */
export async function lastCompletedBackupBefore(db: Db, instanceId: string, time: Date): Promise<BackupRecord | undefined> {
  return (await selectRecords(db)
    .where({ 'b.instance_id': instanceId, 'b.state': 'COMPLETED' })
    .where('b.updated', '<', time)
    .orderBy([
      { column: 'b.updated', order: 'desc' },
      { column: 'b.created', order: 'desc' },
    ])
    .first()) as BackupRecord | undefined;
}

export async function runningBackupOf(db: Db | Knex.Transaction, instanceId: string): Promise<{ id: string } | undefined> {
  return db('backups')
    .where({ instance_id: instanceId, deleted: false })
    .whereIn('state', RUNNING_BACKUP_STATES as unknown as string[])
    .first('id');
}

// ---- backup strategies (the container backups go to, per project or per instance)

export interface BackupStrategy {
  id: string;
  tenant_id: string;
  /** '' = the whole project */
  instance_id: string;
  backend: string;
  swift_container: string | null;
  created: Date | null;
}

export async function listStrategies(db: Db, projectId: string, instanceId?: string): Promise<BackupStrategy[]> {
  const q = db('backup_strategy').where({ tenant_id: projectId });
  if (instanceId !== undefined) q.where({ instance_id: instanceId });
  return q.orderBy('instance_id').select();
}

export async function upsertStrategy(db: Db, s: Omit<BackupStrategy, 'created'>): Promise<BackupStrategy> {
  const existing = await db('backup_strategy').where({ tenant_id: s.tenant_id, instance_id: s.instance_id }).first();
  if (existing) {
    await db('backup_strategy').where({ id: existing.id }).update({ backend: s.backend, swift_container: s.swift_container });
    return { ...existing, backend: s.backend, swift_container: s.swift_container };
  }
  const row = { ...s, created: new Date() };
  await db('backup_strategy').insert(row);
  return row;
}

export async function deleteStrategy(db: Db, projectId: string, instanceId: string): Promise<number> {
  return db('backup_strategy').where({ tenant_id: projectId, instance_id: instanceId }).delete();
}

/** The container a backup goes to: the instance's strategy, else the project's, else the default. */
export async function containerFor(db: Db, projectId: string, instanceId: string, fallback: string): Promise<string> {
  const rows = await db('backup_strategy').where({ tenant_id: projectId }).whereIn('instance_id', [instanceId, '']).select('instance_id', 'swift_container');
  const own = rows.find((r: { instance_id: string }) => r.instance_id === instanceId);
  const project = rows.find((r: { instance_id: string }) => r.instance_id === '');
  return own?.swift_container ?? project?.swift_container ?? fallback;
}

// ---- the instance routes (issue 13: SQL only in src/db) ----

/** Marks an instance's running backups FAILED (an admin's reset_status: no flow works on them any more). */
export async function failRunningBackups(db: Db, instanceId: string): Promise<number> {
  return db('backups')
    .where({ instance_id: instanceId, deleted: false })
    .whereIn('state', RUNNING_BACKUP_STATES as unknown as string[])
    .update({ state: 'FAILED', updated: new Date() });
}

/** The backups row as stored (no datastore names), deleted or not. */
export interface BackupRow {
  id: string;
  tenant_id: string;
  instance_id: string | null;
  state: BackupState;
  location: string | null;
  backup_type: string | null;
  checksum: string | null;
  storage_driver: string | null;
  parent_id: string | null;
  /** GB, once the guest reported it */
  size: number | null;
  deleted: boolean;
  fail_reason: string | null;
}

export async function getBackupRow(db: Db, id: string): Promise<BackupRow | undefined> {
  const row = (await db('backups')
    .where({ id })
    .first(
      'id',
      'tenant_id',
      'instance_id',
      'state',
      'location',
      'backup_type',
      'checksum',
      'storage_driver',
      'parent_id',
      'size',
      'deleted',
      'fail_reason',
    )) as Record<string, unknown> | undefined;
  return row
    ? { ...(row as unknown as BackupRow), size: row.size === null || row.size === undefined ? null : Number(row.size), deleted: Boolean(row.deleted) }
    : undefined;
}

/** What a guest reported about a backup it runs (update_backup): only the fields it gave. */
export type BackupReport = Partial<Pick<BackupRecord, 'size' | 'state' | 'backup_type' | 'checksum' | 'location' | 'fail_reason'>>;

/** Writes a guest's report on a backup of its instance; false when there is no such live backup of that instance. */
export async function recordBackupReport(db: Db, id: string, instanceId: string, report: BackupReport, now = new Date()): Promise<boolean> {
  const n = await db('backups')
    .where({ id, instance_id: instanceId, deleted: false })
    .update({ ...report, updated: now });
  return n > 0;
}

/**
 * Marks the backup deleted and gives its quota back, together: a reader who sees the backup gone
 * sees its quota given back. The quota row is locked first, as reserveBackup does: the other order
 * deadlocked against a backup being taken in the same project (a replica's snapshot dropped while
 * another was taken).
 */
export async function deleteBackupRecord(db: Db, id: string, tenantId: string): Promise<void> {
  await db.transaction(async (trx) => {
    // a release needs no limits
    await changeUsage(trx, tenantId, { backups: -1 }, UNLIMITED);
    await markBackupDeleted(trx, id);
  });
}
