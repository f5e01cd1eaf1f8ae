// Instances with everything their views show, a page at a time in one query whatever its size:
// the page's rows joined with their service status, datastore version, datastore and configuration
// name, and per row three correlated sub-selects, each one index lookup: the newest fault not
// cleared (as a JSON object), whether a backup is running, the live replicas' ids (a JSON array).
// Lists, show and the management views are answered from it, never with a query per row. (Measured
// on MariaDB, N = 10,000, a page of 20: the sub-selects cost its executor about 0.25 ms and its
// optimiser about 0.3 ms more than the joins alone, and save the second round trip of the two-query
// form, its ids sent back as 60 bindings and a second result: about 2.0 ms a page instead of 2.3 to
// 3.2 ms on a loaded machine, and a third less of trove-api's CPU per page.)
import type { Knex } from 'knex';
import type { Db } from './connection.js';
import { RUNNING_BACKUP_STATES } from './backups.js';
import { isSqlite } from './dialect.js';
import { PAGE_ORDER, pageMarker, pageWhere, type InstanceRecord, type ListQuery } from './instances.js';
import { selectPrepared } from './prepared.js';
import { latestMetricsColumn, parseLatestMetrics } from './instance-metrics.js';

export interface InstanceViewRows {
  /** The datastore of its version (absent: the version or the datastore is gone). */
  datastore: { name: string } | undefined;
  version: { name: string; version: string | null } | undefined;
  configurationName: string | undefined;
  /** A backup of it is NEW, BUILDING or SAVING. */
  backupRunning: boolean;
  /** Its live replicas, by id. */
  replicaIds: string[];
}

/**
 * The columns of an instance its API views read (the summary and detail views, show, the
 * management list): what the views' query selects instead of `i.*`. mysql2 decodes every column
 * of every row it is sent, so the 11 columns no view shows (the flow lease, the host name, the
 * volume type, ...) are left in the table; the views' parameter types are this record, so a view
 * that starts to read another column fails the type check until it is added here.
 */
/** The columns of an instance the summary view (the list) reads; the other views read VIEW_COLUMNS. */
export const SUMMARY_COLUMNS = [
  'id',
  'name',
  'task_id',
  'server_status',
  'flavor_id',
  'region_id',
  'access',
  'addresses',
  'volume_size',
  'slave_of_id',
  'tenant_id',
] as const satisfies ReadonlyArray<keyof InstanceRecord>;

/** An instance as the summary view reads it: SUMMARY_COLUMNS and its service status (its status and operating status). */
export type InstanceSummaryRecord = Pick<InstanceRecord, (typeof SUMMARY_COLUMNS)[number] | 'service_status_id' | 'service_status_updated'>;

export const VIEW_COLUMNS = [
  'id',
  'created',
  'updated',
  'name',
  'compute_instance_id',
  'task_id',
  'task_description',
  'volume_id',
  'flavor_id',
  'volume_size',
  'volume_used',
  'tenant_id',
  'server_status',
  'deleted',
  'deleted_at',
  'configuration_id',
  'slave_of_id',
  'cluster_id',
  'shard_id',
  'region_id',
  'encrypted_key',
  'access',
  'addresses',
  'locality',
] as const satisfies ReadonlyArray<keyof InstanceRecord>;

/** An instance as its views read it: VIEW_COLUMNS, its service status and its newest fault not cleared. */
export type InstanceViewRecord = Pick<
  InstanceRecord,
  | (typeof VIEW_COLUMNS)[number]
  | 'service_status_id'
  | 'service_status_updated'
  | 'agent_version'
  | 'agent_rpc_version'
  | 'fault_message'
  | 'fault_details'
  | 'fault_created'
>;

/** An instance of a page of the list (the summary view): its summary columns and its views' rows. */
export interface InstanceSummary {
  record: InstanceSummaryRecord;
  rows: InstanceViewRows;
}

export interface InstanceView {
  record: InstanceViewRecord;
  rows: InstanceViewRows;
}

/** An instance as show has it: its views' rows and its newest metrics sample (undefined: none yet). */
export interface InstanceShowView extends InstanceView {
  latestMetrics: Record<string, unknown> | undefined;
}

type Joined = Record<string, unknown>;

const RUNNING = RUNNING_BACKUP_STATES.map((state) => `'${state}'`).join(', ');

/** The per-row sub-selects of `i`: its newest fault not cleared (only with `fault`), a running backup, its live replicas. */
function relatedColumns(db: Db, fault: boolean): Knex.Raw[] {
  const [object, arrayOf] = isSqlite(db) ? ['json_object', 'json_group_array'] : ['json_object', 'json_arrayagg'];
  const columns = [
    db.raw(`exists(select 1 from backups b where b.instance_id = i.id and b.deleted = 0 and b.state in (${RUNNING})) as view_backup_running`),
    db.raw(`(select ${arrayOf}(r.id) from instances r where r.slave_of_id = i.id and r.deleted = 0) as view_replica_ids`),
  ];
  if (fault) {
    columns.unshift(
      db.raw(
        `(select ${object}('message', f.message, 'details', f.details, 'created', f.created) from instance_faults f` +
          ' where f.instance_id = i.id and f.deleted = 0 order by f.created desc, f.id desc limit 1) as view_fault',
      ),
    );
  }
  return columns;
}

/**
 * What a query of the views selects besides their rows: nothing more ('rows'), the instance's
 * summary columns and service status ('summary'), or its view columns, service status and newest
 * fault ('record').
 */
type Selected = 'rows' | 'summary' | 'record';

/** The rows of the views of the instances `from` (as `i`), and the instances' own columns as `what` says. */
function selectViews(db: Db, from: Knex.QueryBuilder, what: Selected, metrics = false): Knex.QueryBuilder {
  const q = from
    .leftJoin('datastore_versions as v', 'v.id', 'i.datastore_version_id')
    .leftJoin('datastores as d', 'd.id', 'v.datastore_id')
    .leftJoin('configurations as c', 'c.id', 'i.configuration_id')
    .select(
      'i.id',
      'v.id as view_version_id',
      'v.name as view_version_name',
      'v.version as view_version_number',
      'd.id as view_datastore_id',
      'd.name as view_datastore_name',
      'c.name as view_configuration_name',
      ...relatedColumns(db, what === 'record'),
      ...(metrics ? [latestMetricsColumn(db, 'view_latest_metrics')] : []),
    );
  if (what === 'rows') return q;
  const status = q.leftJoin('service_statuses as s', 's.instance_id', 'i.id');
  if (what === 'summary')
    return status.select(...SUMMARY_COLUMNS.map((c) => `i.${c}`), 's.status_id as service_status_id', 's.updated_at as service_status_updated');
  return status.select(
    ...VIEW_COLUMNS.map((c) => `i.${c}`),
    's.status_id as service_status_id',
    's.updated_at as service_status_updated',
    's.agent_version',
    's.agent_rpc_version',
  );
}

interface Fault {
  message: string;
  details: string;
  created: Date | null;
}

/** A JSON column: MySQL's drivers may hand it over parsed, MariaDB's and SQLite's as text. */
const json = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);

/** A datetime inside a JSON value: MariaDB/MySQL print 'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC, the connection's zone), SQLite keeps knex's epoch ms. */
function jsonTime(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return new Date(v);
  const s = String(v);
  return new Date(/^\d{4}-\d\d-\d\d \d/.test(s) ? `${s.replace(' ', 'T')}Z` : s);
}

function faultOf(j: Joined): Fault | undefined {
  const f = json(j.view_fault) as { message: string; details: string; created: unknown } | null | undefined;
  return f ? { message: f.message, details: f.details, created: jsonTime(f.created) } : undefined;
}

function rowsOf(j: Joined): InstanceViewRows {
  const replicas = (json(j.view_replica_ids) as string[] | null | undefined) ?? [];
  return {
    datastore: j.view_datastore_id === null ? undefined : { name: j.view_datastore_name as string },
    version: j.view_version_id === null ? undefined : { name: j.view_version_name as string, version: j.view_version_number as string | null },
    configurationName: (j.view_configuration_name as string | null) ?? undefined,
    backupRunning: Boolean(Number(j.view_backup_running)),
    replicaIds: replicas.sort((a, b) => (a < b ? -1 : 1)),
  };
}

/**
 * The instance's own columns as getInstance has them (VIEW_COLUMNS), with its service status and
 * newest fault not cleared; written out (not a rest copy of the joined row without its view_*
 * columns: V8 copies those key by key, the most costly step of shaping a page).
 */
function recordOf(j: Joined): InstanceViewRecord {
  const fault = faultOf(j);
  const r = j as unknown as InstanceViewRecord;
  return {
    id: r.id,
    created: r.created,
    updated: r.updated,
    name: r.name,
    compute_instance_id: r.compute_instance_id,
    task_id: r.task_id,
    task_description: r.task_description,
    volume_id: r.volume_id,
    flavor_id: r.flavor_id,
    volume_size: r.volume_size,
    volume_used: r.volume_used,
    tenant_id: r.tenant_id,
    server_status: r.server_status,
    deleted: Boolean(j.deleted),
    deleted_at: r.deleted_at,
    configuration_id: r.configuration_id,
    slave_of_id: r.slave_of_id,
    cluster_id: r.cluster_id,
    shard_id: r.shard_id,
    region_id: r.region_id,
    encrypted_key: r.encrypted_key,
    access: r.access,
    addresses: r.addresses,
    locality: r.locality,
    service_status_id: r.service_status_id,
    service_status_updated: r.service_status_updated,
    agent_version: r.agent_version,
    agent_rpc_version: r.agent_rpc_version,
    fault_message: fault?.message ?? null,
    fault_details: fault?.details ?? null,
    fault_created: fault?.created ?? null,
  };
}

/** The instance's summary columns and service status (the list's rows carry nothing else of it). */
function summaryOf(j: Joined): InstanceSummaryRecord {
  const r = j as unknown as InstanceSummaryRecord;
  return {
    id: r.id,
    name: r.name,
    task_id: r.task_id,
    server_status: r.server_status,
    flavor_id: r.flavor_id,
    region_id: r.region_id,
    access: r.access,
    addresses: r.addresses,
    volume_size: r.volume_size,
    slave_of_id: r.slave_of_id,
    tenant_id: r.tenant_id,
    service_status_id: r.service_status_id,
    service_status_updated: r.service_status_updated,
  };
}

const views = (joined: Joined[]): InstanceView[] => joined.map((j) => ({ record: recordOf(j), rows: rowsOf(j) }));

/** The SELECTs (joins and sub-selects, no bindings) of a page of summaries, of a page and of show, compiled by knex once per database handle. */
const selects = { summary: new WeakMap<Db, string>(), page: new WeakMap<Db, string>(), show: new WeakMap<Db, string>() };

function viewsSelect(db: Db, of: keyof typeof selects): string {
  const cache = selects[of];
  let sql = cache.get(db);
  if (sql === undefined) {
    const compiled = selectViews(db, db('instances as i'), of === 'summary' ? 'summary' : 'record', of === 'show')
      .toSQL()
      .toNative();
    if (compiled.bindings.length) throw new Error('the instance views select must have no bindings');
    sql = compiled.sql;
    cache.set(db, sql);
  }
  return sql;
}

/** The joined rows of a page (one past it, to know if there is more): one query (three with a marker) whatever the page size. */
async function pageRows(db: Db, q: ListQuery, what: 'summary' | 'record'): Promise<Joined[]> {
  const marker = await pageMarker(db, q);
  if (marker) {
    // after a marker, the page's ids alone first: with the joins along MariaDB read the project's
    // rows newer than the marker one by one (its costs prefer the equal part of the index to the
    // range on created), which is half the project in the middle of a long list
    const where = pageWhere(q, marker);
    const page = db('instances as i')
      .select('i.id')
      .orderBy([
        { column: 'i.created', order: 'desc' },
        { column: 'i.id', order: 'desc' },
      ]);
    if (where.sql) page.whereRaw(where.sql, where.bindings);
    const ids = ((await page.limit(q.limit + 1)) as Array<{ id: string }>).map((r) => r.id);
    return (await selectViews(db, db('instances as i'), what)
      .whereIn('i.id', ids)
      .orderBy([
        { column: 'i.created', order: 'desc' },
        { column: 'i.id', order: 'desc' },
      ])) as Joined[];
  }
  // the first page, the hot one: a text that only its bindings change, prepared once per connection
  const where = pageWhere(q);
  const select = viewsSelect(db, what === 'summary' ? 'summary' : 'page');
  return selectPrepared(db, `${select}${where.sql ? ` where ${where.sql}` : ''} ${PAGE_ORDER}`, [...where.bindings, q.limit + 1]);
}

/** A page of instances (as listInstances) with their views' rows. */
export async function listInstanceViews(db: Db, q: ListQuery): Promise<{ items: InstanceView[]; more: boolean }> {
  const joined = await pageRows(db, q, 'record');
  return { items: views(joined.slice(0, q.limit)), more: joined.length > q.limit };
}

/** A page of instances as the list (the summary view) shows them: their summary columns and views' rows only. */
export async function listInstanceSummaries(db: Db, q: ListQuery): Promise<{ items: InstanceSummary[]; more: boolean }> {
  const joined = await pageRows(db, q, 'summary');
  return { items: joined.slice(0, q.limit).map((j) => ({ record: summaryOf(j), rows: rowsOf(j) })), more: joined.length > q.limit };
}

/** One instance (as getInstance) with its view's rows and newest metrics sample, in one query (prepared, as a first page). */
export async function getInstanceView(db: Db, id: string, projectId?: string, includeDeleted = false): Promise<InstanceShowView | undefined> {
  const bindings: Knex.Value[] = [id];
  let sql = `${viewsSelect(db, 'show')} where i.id = ?`;
  if (!includeDeleted) sql += ' and i.deleted = 0';
  if (projectId !== undefined) {
    sql += ' and i.tenant_id = ?';
    bindings.push(projectId);
  }
  const [joined] = await selectPrepared(db, sql, bindings);
  return joined ? { ...views([joined])[0]!, latestMetrics: parseLatestMetrics(joined.view_latest_metrics) } : undefined;
}

/** The views' rows of instances already loaded, by id (each of them), in one query. */
export async function instanceViewRows(db: Db, records: InstanceRecord[]): Promise<Map<string, InstanceViewRows>> {
  const ids = records.map((r) => r.id);
  const joined = ids.length ? ((await selectViews(db, db('instances as i'), 'rows').whereIn('i.id', ids)) as Joined[]) : [];
  const byId = new Map(joined.map((j) => [j.id as string, rowsOf(j)]));
  return new Map(
    records.map((r) => [
      r.id,
      byId.get(r.id) ?? { datastore: undefined, version: undefined, configurationName: undefined, backupRunning: false, replicaIds: [] },
    ]),
  );
}
