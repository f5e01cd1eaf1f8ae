// Instances with everything their views show, a page at a time in two queries whatever its size:
// one reads the page's rows joined with their service status, datastore version, datastore and
// configuration name; one more reads, for all of them at once, their faults that are not cleared,
// their running backups and their live replicas. Lists, show and the management views are answered
// from these, never with a query per row. (Correlated sub-selects per row cost MariaDB more than
// the second round trip: 20 rows x 3 of them took about 2 ms of its time.)
import type { Knex } from 'knex';
import type { Db } from './connection.js';
import { RUNNING_BACKUP_STATES } from './backups.js';
import { pageFilter, type InstanceRecord, type ListQuery } from './instances.js';

/** What an instance's views show besides its own row. */
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

export interface InstanceView {
  record: InstanceRecord;
  rows: InstanceViewRows;
}

type Joined = Record<string, unknown>;

/** The one-to-one rows of the views of the instances `from` (as `i`): `record` adds the rows themselves and their service status. */
function selectViews(from: Knex.QueryBuilder, record: boolean): Knex.QueryBuilder {
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
    );
  if (!record) return q;
  return q
    .leftJoin('service_statuses as s', 's.instance_id', 'i.id')
    .select('i.*', 's.status_id as service_status_id', 's.updated_at as service_status_updated', 's.agent_version', 's.agent_rpc_version');
}

interface Fault {
  message: string;
  details: string;
  created: Date | string | number;
  id: string;
}

/** What a page's instances have any number of: faults not cleared (the newest kept per instance), running backups, live replicas. */
interface Related {
  faults: Map<string, Fault>;
  running: Set<string>;
  replicas: Map<string, string[]>;
}

const time = (d: Date | string | number): number => new Date(d).getTime();

/**
 * One UNION ALL over the faults that are not cleared (when `faults`), the running backups and the
 * live replicas of these instances (`owner` is the instance they belong to).
 */
async function relatedOf(db: Db, ids: string[], faults: boolean): Promise<Related> {
  const out: Related = { faults: new Map(), running: new Set(), replicas: new Map() };
  if (!ids.length) return out;
  const none = db.raw('null');
  const parts = [
    db('backups')
      .select(db.raw("'backup' as kind"), 'instance_id as owner', 'id', none, none, none)
      .where('deleted', false)
      .whereIn('state', [...RUNNING_BACKUP_STATES])
      .whereIn('instance_id', ids),
    db('instances').select(db.raw("'replica'"), 'slave_of_id', 'id', none, none, none).where('deleted', false).whereIn('slave_of_id', ids),
  ];
  if (faults) {
    parts.unshift(
      db('instance_faults')
        .select(db.raw("'fault' as kind"), 'instance_id as owner', 'id', 'message', 'details', 'created')
        .where('deleted', false)
        .whereIn('instance_id', ids),
    );
  }
  const [first, ...rest] = parts;
  const rows = (await first!.unionAll(rest)) as Array<{ kind: string; owner: string; id: string } & Fault>;
  for (const r of rows) {
    if (r.kind === 'backup') out.running.add(r.owner);
    else if (r.kind === 'replica') out.replicas.set(r.owner, [...(out.replicas.get(r.owner) ?? []), r.id]);
    else {
      const seen = out.faults.get(r.owner);
      const newer = !seen || time(r.created) > time(seen.created) || (time(r.created) === time(seen.created) && r.id > seen.id);
      if (newer) out.faults.set(r.owner, { message: r.message, details: r.details, created: r.created, id: r.id });
    }
  }
  for (const list of out.replicas.values()) list.sort((a, b) => (a < b ? -1 : 1));
  return out;
}

function rowsOf(j: Joined, related: Related): InstanceViewRows {
  const id = j.id as string;
  return {
    datastore: j.view_datastore_id === null ? undefined : { name: j.view_datastore_name as string },
    version: j.view_version_id === null ? undefined : { name: j.view_version_name as string, version: j.view_version_number as string | null },
    configurationName: (j.view_configuration_name as string | null) ?? undefined,
    backupRunning: related.running.has(id),
    replicaIds: related.replicas.get(id) ?? [],
  };
}

/** The instance's own row as getInstance has it: with its service status and newest fault not cleared. */
function recordOf(j: Joined, related: Related): InstanceRecord {
  const {
    view_version_id: _version,
    view_version_name: _name,
    view_version_number: _number,
    view_datastore_id: _datastore,
    view_datastore_name: _datastoreName,
    view_configuration_name: _configuration,
    ...record
  } = j;
  const fault = related.faults.get(j.id as string);
  record.deleted = Boolean(j.deleted);
  record.fault_message = fault?.message ?? null;
  record.fault_details = fault?.details ?? null;
  record.fault_created = fault?.created ?? null;
  return record as unknown as InstanceRecord;
}

async function views(db: Db, joined: Joined[]): Promise<InstanceView[]> {
  const related = await relatedOf(
    db,
    joined.map((j) => j.id as string),
    true,
  );
  return joined.map((j) => ({ record: recordOf(j, related), rows: rowsOf(j, related) }));
}

/** A page of instances (as listInstances) with their views' rows: two queries (four with a marker) whatever the page size. */
export async function listInstanceViews(db: Db, q: ListQuery): Promise<{ items: InstanceView[]; more: boolean }> {
  const narrow = await pageFilter(db, q);
  let joined: Joined[];
  if (q.marker) {
    // after a marker, the page's ids alone first: with the joins along MariaDB read the project's
    // rows newer than the marker one by one (its costs prefer the equal part of the index to the
    // range on created), which is half the project in the middle of a long list
    const ids = ((await narrow(db('instances as i').select('i.id'))) as Array<{ id: string }>).map((r) => r.id);
    joined = (await selectViews(db('instances as i'), true)
      .whereIn('i.id', ids)
      .orderBy([
        { column: 'i.created', order: 'desc' },
        { column: 'i.id', order: 'desc' },
      ])) as Joined[];
  } else joined = (await narrow(selectViews(db('instances as i'), true))) as Joined[];
  return { items: await views(db, joined.slice(0, q.limit)), more: joined.length > q.limit };
}

/** One instance (as getInstance) with its view's rows, in two queries. */
export async function getInstanceView(db: Db, id: string, projectId?: string, includeDeleted = false): Promise<InstanceView | undefined> {
  const q = selectViews(db('instances as i'), true).where('i.id', id);
  if (!includeDeleted) q.where('i.deleted', false);
  if (projectId !== undefined) q.where('i.tenant_id', projectId);
  const joined = (await q.first()) as Joined | undefined;
  return joined ? (await views(db, [joined]))[0] : undefined;
}

/** The views' rows of instances already loaded, by id (each of them), in two queries. */
export async function instanceViewRows(db: Db, records: InstanceRecord[]): Promise<Map<string, InstanceViewRows>> {
  const ids = records.map((r) => r.id);
  const joined = ids.length ? ((await selectViews(db('instances as i'), false).whereIn('i.id', ids)) as Joined[]) : [];
  const related = await relatedOf(db, ids, false);
  const byId = new Map(joined.map((j) => [j.id as string, rowsOf(j, related)]));
  return new Map(
    records.map((r) => [
      r.id,
      byId.get(r.id) ?? { datastore: undefined, version: undefined, configurationName: undefined, backupRunning: false, replicaIds: [] },
    ]),
  );
}
