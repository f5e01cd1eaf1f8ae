// Instances with their service status and latest fault: the rows every instance view is made of.
import type { Knex } from 'knex';
import type { Db } from './connection.js';
import { Tasks, taskFromCode, type InstanceTask } from '../common/instance-tasks.js';
import { applyUsage, ensureUsageRows, type QuotaDeltas, type QuotaLimits, type QuotaResource } from './quotas.js';
import { lockForUpdate } from './dialect.js';
import { ServiceStatuses, type ServiceStatus } from '../common/service-status.js';
import { randomUUID } from 'node:crypto';
import { acceptIfNewer, ensureLastSeenRows } from './last-seen.js';

export interface Address {
  address: string;
  type: 'private' | 'public';
  network?: string;
}

export interface Access {
  is_public: boolean;
  allowed_cidrs: string[];
}

export interface InstanceRow {
  id: string;
  created: Date;
  updated: Date;
  name: string;
  hostname: string | null;
  compute_instance_id: string | null;
  task_id: number;
  task_description: string;
  task_start_time: Date | null;
  volume_id: string | null;
  flavor_id: string;
  volume_size: number | null;
  volume_type: string | null;
  volume_used: number | null;
  tenant_id: string;
  server_status: string | null;
  deleted: boolean;
  deleted_at: Date | null;
  datastore_version_id: string;
  configuration_id: string | null;
  slave_of_id: string | null;
  cluster_id: string | null;
  shard_id: string | null;
  type: string | null;
  region_id: string | null;
  encrypted_key: string | null;
  access: string | null;
  addresses: string | null;
  availability_zone: string | null;
  locality: string | null;
  server_group_id: string | null;
  flow_state: string | null;
  flow_owner: string | null;
  flow_lease_until: Date | null;
  /** trove-ts: the backup the last upgrade took before it touched the instance */
  upgrade_backup_id: string | null;
}

export interface InstanceRecord extends InstanceRow {
  service_status_id: number | null;
  service_status_updated: Date | null;
  /** the guest agent's version and RPC API version, as its heartbeats report them (null: not reported) */
  agent_version: string | null;
  agent_rpc_version: string | null;
  fault_message: string | null;
  fault_details: string | null;
  fault_created: Date | null;
}

export type NewInstance = Pick<
  InstanceRow,
  | 'id'
  | 'name'
  | 'flavor_id'
  | 'volume_size'
  | 'volume_type'
  | 'tenant_id'
  | 'datastore_version_id'
  | 'configuration_id'
  | 'slave_of_id'
  | 'region_id'
  | 'encrypted_key'
  | 'availability_zone'
  | 'locality'
> & { access: Access };

function selectRecords(db: Db | Knex.Transaction): Knex.QueryBuilder {
  return db('instances as i')
    .leftJoin('service_statuses as s', 's.instance_id', 'i.id')
    .select(
      'i.*',
      's.status_id as service_status_id',
      's.updated_at as service_status_updated',
      's.agent_version',
      's.agent_rpc_version',
      db.raw('(select f.message from instance_faults f where f.instance_id = i.id and f.deleted = 0 order by f.created desc limit 1) as fault_message'),
      db.raw('(select f.details from instance_faults f where f.instance_id = i.id and f.deleted = 0 order by f.created desc limit 1) as fault_details'),
      db.raw('(select f.created from instance_faults f where f.instance_id = i.id and f.deleted = 0 order by f.created desc limit 1) as fault_created'),
    );
}

function normalise(row: Record<string, unknown>): InstanceRecord {
  return { ...(row as unknown as InstanceRecord), deleted: Boolean(row.deleted) };
}

export async function insertInstance(trx: Knex.Transaction, n: NewInstance, now = new Date()): Promise<void> {
  await trx('instances').insert({
    ...n,
    access: JSON.stringify(n.access),
    created: now,
    updated: now,
    task_id: Tasks.BUILDING.code,
    task_description: Tasks.BUILDING.description,
    task_start_time: now,
    server_status: null,
    deleted: false,
  });
  await trx('service_statuses').insert({
    id: randomUUID(),
    instance_id: n.id,
    status_id: ServiceStatuses.NEW.code,
    status_description: ServiceStatuses.NEW.description,
    updated_at: now,
  });
}

export async function getInstance(db: Db, id: string, projectId?: string, includeDeleted = false): Promise<InstanceRecord | undefined> {
  const q = selectRecords(db).where('i.id', id);
  if (!includeDeleted) q.where('i.deleted', false);
  if (projectId !== undefined) q.where('i.tenant_id', projectId);
  const row = await q.first();
  return row ? normalise(row) : undefined;
}

export interface ListQuery {
  projectId?: string | undefined;
  limit: number;
  marker?: string | undefined;
  includeClustered?: boolean;
  includeDeleted?: boolean;
  /** Only deleted (true) or only live (false) instances; wins over includeDeleted. */
  deleted?: boolean | undefined;
}

/** An instance used as a page marker, of `projectId` only when given. */
export function markerQuery(db: Db, id: string, projectId: string | undefined) {
  const q = db('instances').where({ id });
  if (projectId !== undefined) q.where({ tenant_id: projectId });
  return q;
}

/** A page ordered newest first (created desc, id desc); the marker is the last id of the previous page. */
export async function listInstances(db: Db, q: ListQuery): Promise<{ items: InstanceRecord[]; more: boolean }> {
  const rows = await (await pageFilter(db, q))(selectRecords(db));
  return { items: rows.slice(0, q.limit).map(normalise), more: rows.length > q.limit };
}

/** A page's marker: the (created, id) of the last row of the previous page. */
export interface PageMarker {
  created: Date | string | number;
  id: string;
}

/** Reads the marker's row; the marker is looked up in the listed project only: another project's id is an unknown marker. */
export async function pageMarker(db: Db, q: ListQuery): Promise<PageMarker | undefined> {
  return q.marker ? ((await markerQuery(db, q.marker, q.projectId).first('created', 'id')) as PageMarker | undefined) : undefined;
}

/**
 * The WHERE of a page of instances (as `i`), as SQL text with `?` bindings (empty: every row): its
 * filters, and after the marker `m`. Shared by the query builders (pageFilter) and the page query
 * written once as text (instance-views.ts).
 */
export function pageWhere(q: ListQuery, m?: PageMarker): { sql: string; bindings: Knex.Value[] } {
  const conditions: string[] = [];
  const bindings: Knex.Value[] = [];
  if (q.deleted !== undefined) {
    conditions.push('i.deleted = ?');
    bindings.push(q.deleted ? 1 : 0);
  } else if (!q.includeDeleted) conditions.push('i.deleted = 0');
  if (q.projectId !== undefined) {
    conditions.push('i.tenant_id = ?');
    bindings.push(q.projectId);
  }
  if (!q.includeClustered) conditions.push('i.cluster_id is null');
  if (m) {
    // (created, id) < the marker's, written so that an index on created bounds the scan
    conditions.push('i.created <= ? and (i.created < ? or i.id < ?)');
    bindings.push(m.created, m.created, m.id);
  }
  return { sql: conditions.join(' and '), bindings };
}

/** A page's order (newest first: created desc, id desc) and its size: one row past the page, to know if there is more. */
export const PAGE_ORDER = 'order by i.created desc, i.id desc limit ?';

/**
 * What narrows a query of instances (as `i`) to a page: its filters, newest first (created desc,
 * id desc), after the marker (whose row is read now), one row past the page (to know if there is more).
 */
export async function pageFilter(db: Db, q: ListQuery): Promise<(query: Knex.QueryBuilder) => Knex.QueryBuilder> {
  const where = pageWhere(q, await pageMarker(db, q));
  return (query) => {
    if (where.sql) query.whereRaw(where.sql, where.bindings);
    return query
      .orderBy([
        { column: 'i.created', order: 'desc' },
        { column: 'i.id', order: 'desc' },
      ])
      .limit(q.limit + 1);
  };
}

/**
 * Moves an instance to a task only if it is in one of the expected tasks (compare-and-set, so two
 * actions never run at once). Returns false when another task got there first.
 */
export async function setTask(
  db: Db | Knex.Transaction,
  id: string,
  task: InstanceTask,
  expected?: readonly InstanceTask[],
  extra: Partial<InstanceRow> = {},
): Promise<boolean> {
  const q = db('instances').where({ id, deleted: false });
  if (expected)
    q.whereIn(
      'task_id',
      expected.map((t) => t.code),
    );
  const n = await q.update({
    ...extra,
    task_id: task.code,
    task_description: task.description,
    task_start_time: new Date(),
    updated: new Date(),
  });
  return n > 0;
}

export async function updateInstance(db: Db | Knex.Transaction, id: string, fields: Partial<InstanceRow>): Promise<void> {
  await db('instances')
    .where({ id })
    .update({ ...fields, updated: new Date() });
}

export async function setServiceStatus(db: Db | Knex.Transaction, instanceId: string, status: ServiceStatus, at = new Date()): Promise<void> {
  await db('service_statuses').where({ instance_id: instanceId }).update({ status_id: status.code, status_description: status.description, updated_at: at });
}

/** The guest's last reported status and, with 'failed to spawn', its reason and log tail. */
export async function guestStatus(
  db: Db | Knex.Transaction,
  instanceId: string,
): Promise<{ status_id: number; updated_at: Date | string | null; status_reason: string | null; status_log_tail: string | null } | undefined> {
  return db('service_statuses').where({ instance_id: instanceId }).first('status_id', 'updated_at', 'status_reason', 'status_log_tail');
}

/** The compute server an instance runs on now (null: none recorded). */
export async function serverOf(db: Db | Knex.Transaction, instanceId: string): Promise<string | null> {
  const row = (await db('instances').where({ id: instanceId }).first('compute_instance_id')) as { compute_instance_id: string | null } | undefined;
  return row?.compute_instance_id ?? null;
}

export async function recordFault(db: Db | Knex.Transaction, instanceId: string, message: string, details: string): Promise<void> {
  const now = new Date();
  await db('instance_faults').insert({
    id: randomUUID(),
    instance_id: instanceId,
    message,
    details,
    created: now,
    updated: now,
    deleted: false,
  });
}

export async function clearFaults(db: Db | Knex.Transaction, instanceId: string): Promise<void> {
  await db('instance_faults').where({ instance_id: instanceId, deleted: false }).update({ deleted: true, deleted_at: new Date() });
}

export async function markDeleted(db: Db | Knex.Transaction, id: string): Promise<void> {
  const now = new Date();
  await db('instances')
    .where({ id })
    .update({ deleted: true, deleted_at: now, updated: now, task_id: Tasks.NONE.code, task_description: Tasks.NONE.description });
  await db('service_statuses')
    .where({ instance_id: id })
    .update({ status_id: ServiceStatuses.DELETED.code, status_description: ServiceStatuses.DELETED.description, updated_at: now });
}

export function parseAddresses(row: Pick<InstanceRow, 'addresses'>): Address[] {
  return row.addresses ? (JSON.parse(row.addresses) as Address[]) : [];
}

export function parseAccess(row: Pick<InstanceRow, 'access'>): Access | undefined {
  return row.access ? (JSON.parse(row.access) as Access) : undefined;
}

// ---- the instance service and the instance routes (issue 13: SQL only in src/db) ----

/** Columns an action writes with its task and puts back when it is undone. */
export type TaskColumns = Partial<Pick<InstanceRow, 'access' | 'configuration_id'>>;

/** A member taken by takeTasks: the task and columns it had, to give back on an undo. */
export interface TakenTask {
  id: string;
  previous: InstanceTask;
  columns: TaskColumns;
}

/**
 * Moves every instance of `ids` to `task` with `set`, only if each is live and in one of `from`
 * (compare-and-set over the whole set, under row locks): all taken, or none and the first busy id.
 */
export async function takeTasks(
  db: Db,
  ids: string[],
  task: InstanceTask,
  from: readonly InstanceTask[],
  set: TaskColumns = {},
): Promise<{ taken: TakenTask[] } | { busy: string }> {
  const keys = Object.keys(set) as Array<keyof TaskColumns>;
  return db.transaction(async (trx) => {
    const rows = (await lockForUpdate(
      trx,
      trx('instances')
        .whereIn('id', ids)
        .where({ deleted: false })
        .select(['id', 'task_id', ...keys]),
    )) as Array<Pick<InstanceRow, 'id' | 'task_id'> & TaskColumns>;
    const byId = new Map(rows.map((r) => [r.id, r]));
    const busy = ids.find((id) => !from.some((t) => t.code === byId.get(id)?.task_id));
    if (busy !== undefined) return { busy };
    const now = new Date();
    await trx('instances')
      .whereIn('id', ids)
      .update({ ...set, task_id: task.code, task_description: task.description, task_start_time: now, updated: now });
    return {
      taken: ids.map((id) => {
        const r = byId.get(id)!;
        return { id, previous: taskFromCode(r.task_id), columns: Object.fromEntries(keys.map((k) => [k, r[k] ?? null])) as TaskColumns };
      }),
    };
  });
}

/** Puts a member taken by takeTasks back as it was, if it still has the task it was given. */
export async function giveTaskBack(db: Db, member: TakenTask, task: InstanceTask): Promise<boolean> {
  return setTask(db, member.id, member.previous, [task], member.columns);
}

/**
 * Stores new instances (BUILD) and adds their usage to the project's, in one transaction; the
 * resources over their limit when refused (nothing stored then).
 */
export async function insertInstancesWithUsage(
  db: Db,
  projectId: string,
  rows: NewInstance[],
  usage: QuotaDeltas,
  limits: QuotaLimits,
): Promise<QuotaResource[]> {
  await ensureUsageRows(db, projectId, usage);
  return db.transaction(async (trx) => {
    const over = await applyUsage(trx, projectId, usage, limits);
    if (over.length) return over;
    for (const row of rows) await insertInstance(trx, row);
    return [];
  });
}

/** The live replicas of a replication source, with their volume sizes. */
export async function replicaVolumes(db: Db, sourceId: string): Promise<Array<{ id: string; volume_size: number | null }>> {
  return db('instances').where({ slave_of_id: sourceId, deleted: false }).select('id', 'volume_size');
}

/** The instance's own row (no status or fault), deleted or not unless `live`. */
export async function getInstanceRow(db: Db | Knex.Transaction, id: string, o: { live?: boolean } = {}): Promise<InstanceRow | undefined> {
  const q = db('instances').where({ id });
  if (o.live) q.where({ deleted: false });
  const row = (await q.first()) as Record<string, unknown> | undefined;
  return row ? { ...(row as unknown as InstanceRow), deleted: Boolean(row.deleted) } : undefined;
}

/**
 * The instance's RPC key as stored (instances.encrypted_key): null when it has none, undefined
 * when there is no such instance. It is written with the row and never changed.
 */
export async function encryptedKeyOf(db: Db, id: string): Promise<string | null | undefined> {
  const row = (await db('instances').where({ id }).first('encrypted_key')) as { encrypted_key: string | null } | undefined;
  return row ? row.encrypted_key : undefined;
}

/** The guest RPC API version the instance's agent last reported (null: none reported; undefined: no status row). */
export async function agentRpcVersionOf(db: Db, id: string): Promise<string | null | undefined> {
  const row = (await db('service_statuses').where({ instance_id: id }).first('agent_rpc_version')) as { agent_rpc_version: string | null } | undefined;
  return row ? row.agent_rpc_version : undefined;
}

/** encryptedKeyOf for many instances in one query: an instance that does not exist is not in the map. */
export async function encryptedKeysOf(db: Db, ids: string[]): Promise<Map<string, string | null>> {
  const rows = (await db('instances').whereIn('id', ids).select('id', 'encrypted_key')) as Array<{ id: string; encrypted_key: string | null }>;
  return new Map(rows.map((r) => [r.id, r.encrypted_key]));
}

/** The live replicas of a source, oldest first. */
export async function replicasOf(db: Db, sourceId: string): Promise<string[]> {
  const rows = (await db('instances').where({ slave_of_id: sourceId, deleted: false }).orderBy('created').select('id')) as Array<{ id: string }>;
  return rows.map((r) => r.id);
}

/** Of these instances, the ones whose task is `task` now. */
export async function instancesInTask(db: Db, ids: string[], task: InstanceTask): Promise<string[]> {
  const rows = (await db('instances').whereIn('id', ids).select('id', 'task_id')) as Array<{ id: string; task_id: number }>;
  return rows.filter((r) => Number(r.task_id) === task.code).map((r) => r.id);
}

export interface ServerState {
  id: string;
  compute_instance_id: string;
  server_status: string | null;
  addresses: string | null;
}

/** The live instances that have a server and run no flow: the ones whose server state is kept in sync. */
export async function serversToSync(db: Db): Promise<ServerState[]> {
  return (await db('instances')
    .where({ deleted: false })
    .whereNotNull('compute_instance_id')
    .whereNull('flow_state')
    .select('id', 'compute_instance_id', 'server_status', 'addresses')) as ServerState[];
}

/** The server's state as compute reports it (`addresses` as JSON; left as it is when not given). */
export async function recordServerState(db: Db, id: string, state: { server_status: string; addresses?: string }): Promise<void> {
  await db('instances').where({ id }).update(state);
}

/**
 * Marks the instance deleted and gives its usage back in one transaction (a reader who sees it
 * gone sees its quota given back); the usage rows are locked first, as every quota change does.
 */
export async function markDeletedReleasing(db: Db, id: string, tenantId: string, release: QuotaDeltas, limits: QuotaLimits): Promise<void> {
  await ensureUsageRows(db, tenantId, release);
  await db.transaction(async (trx) => {
    await applyUsage(trx, tenantId, release, limits);
    await markDeleted(trx, id);
  });
}

/**
 * The volume use a guest reported (report_usage), unless an as new or newer report was applied
 * already (conductor_lastseen, under its row lock).
 */
export async function recordVolumeUsed(db: Db, instanceId: string, sent: number, usedGb: number): Promise<void> {
  await ensureLastSeenRows(db, 'report_usage', [instanceId]);
  await db.transaction(async (trx) => {
    if (!(await acceptIfNewer(trx, instanceId, 'report_usage', sent))) return;
    await trx('instances').where({ id: instanceId, deleted: false }).update({ volume_used: usedGb });
  });
}

/** Every instance not deleted, with its datastore version's manager (the periodic usage events). */
export async function liveInstancesWithManager(db: Db): Promise<Array<InstanceRow & { manager: string | null }>> {
  const rows = (await db('instances')
    .leftJoin('datastore_versions', 'datastore_versions.id', 'instances.datastore_version_id')
    .where('instances.deleted', false)
    .select('instances.*', 'datastore_versions.manager as manager')
    .orderBy('instances.created')) as Array<Record<string, unknown>>;
  return rows.map((r) => ({ ...(r as unknown as InstanceRow & { manager: string | null }), deleted: Boolean(r.deleted) }));
}

/** An instance's datastore manager (mysql, mariadb, ...), deleted or not. */
export async function managerOf(db: Db, instanceId: string): Promise<string | null> {
  const r = (await db('instances')
    .join('datastore_versions', 'datastore_versions.id', 'instances.datastore_version_id')
    .where('instances.id', instanceId)
    .first('datastore_versions.manager as manager')) as { manager: string } | undefined;
  return r?.manager ?? null;
}
