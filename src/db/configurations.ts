// Configuration groups (configurations + configuration_parameters) and the instances using them.
// Values are stored as Trove stores them (booleans as "1"/"0", the rest as text) and typed back
// by the datastore version's parameter rules.
import { markerQuery } from './instances.js';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Db } from './connection.js';
import { listConfigParameters, type ConfigParameterRow } from './datastores.js';

export type ConfigValue = string | number | boolean;
export type ConfigValues = Record<string, ConfigValue>;

export interface ConfigurationRecord {
  id: string;
  name: string;
  description: string | null;
  tenant_id: string;
  datastore_version_id: string;
  created: Date;
  updated: Date;
  datastore_name: string;
  datastore_version_name: string;
  datastore_version_number: string | null;
}

export interface NewConfiguration {
  name: string;
  description: string | null;
  tenantId: string;
  datastoreVersionId: string;
}

function selectRecords(db: Db | Knex.Transaction): Knex.QueryBuilder {
  return db('configurations as c')
    .join('datastore_versions as v', 'v.id', 'c.datastore_version_id')
    .join('datastores as d', 'd.id', 'v.datastore_id')
    .where('c.deleted', false)
    .select(
      'c.id',
      'c.name',
      'c.description',
      'c.tenant_id',
      'c.datastore_version_id',
      'c.created',
      'c.updated',
      'd.name as datastore_name',
      'v.name as datastore_version_name',
      'v.version as datastore_version_number',
    );
}

/** One group, of one project unless projectId is undefined (admins see every project's). */
export async function getConfiguration(db: Db, id: string, projectId?: string): Promise<ConfigurationRecord | undefined> {
  const q = selectRecords(db).where('c.id', id);
  if (projectId !== undefined) q.where('c.tenant_id', projectId);
  return (await q.first()) as ConfigurationRecord | undefined;
}

/** A page ordered by creation (then id); the marker is the last id of the previous page. */
export async function listConfigurations(
  db: Db,
  q: { projectId?: string | undefined; limit: number; marker?: string | undefined },
): Promise<{ items: ConfigurationRecord[]; more: boolean }> {
  const query = selectRecords(db).orderBy([
    { column: 'c.created', order: 'asc' },
    { column: 'c.id', order: 'asc' },
  ]);
  if (q.projectId !== undefined) query.where('c.tenant_id', q.projectId);
  if (q.marker) {
    // the marker is looked up in the listed project only: another project's id is an unknown marker
    const mq = db('configurations').where({ id: q.marker });
    if (q.projectId !== undefined) mq.where({ tenant_id: q.projectId });
    const m = await mq.first('created', 'id');
    if (m) query.where((w) => w.where('c.created', '>', m.created).orWhere((x) => x.where('c.created', m.created).andWhere('c.id', '>', m.id)));
  }
  const rows = (await query.limit(q.limit + 1)) as ConfigurationRecord[];
  return { items: rows.slice(0, q.limit), more: rows.length > q.limit };
}

/** Trove's column format: booleans as "1"/"0", numbers and strings as their text. */
export function encodeValue(v: ConfigValue): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  return String(v);
}

/** The stored text typed by its rule (Trove's Configuration.load_items); no rule → the text. */
export function decodeValue(raw: string, rule: Pick<ConfigParameterRow, 'data_type'> | undefined): ConfigValue {
  switch (rule?.data_type) {
    case 'boolean':
      return raw === '1' || raw.toLowerCase() === 'true' || raw.toLowerCase() === 'on';
    case 'integer': {
      const n = Number.parseInt(raw, 10);
      return Number.isNaN(n) ? raw : n;
    }
    case 'float': {
      const n = Number(raw);
      return Number.isNaN(n) ? raw : n;
    }
    default:
      return raw;
  }
}

/** The group's values, typed by the version's rules. */
export async function configurationValues(db: Db, id: string, versionId: string): Promise<ConfigValues> {
  const rules = new Map((await listConfigParameters(db, versionId)).map((r) => [r.name, r]));
  const rows = await db('configuration_parameters').where({ configuration_id: id, deleted: false }).orderBy('configuration_key');
  return Object.fromEntries(
    rows.map((r: { configuration_key: string; configuration_value: string | null }) => [
      r.configuration_key,
      decodeValue(r.configuration_value ?? '', rules.get(r.configuration_key)),
    ]),
  );
}

/** The overrides a guest gets for a group (empty when there is none or it is gone). */
export async function configurationOverrides(db: Db, id: string | null): Promise<ConfigValues> {
  if (!id) return {};
  const row = await db('configurations').where({ id }).first('datastore_version_id');
  return row ? configurationValues(db, id, row.datastore_version_id) : {};
}

async function writeValues(trx: Knex.Transaction, id: string, values: ConfigValues): Promise<void> {
  for (const [key, value] of Object.entries(values)) {
    // the primary key is (group, key): a soft-deleted row is revived rather than duplicated
    await trx('configuration_parameters').where({ configuration_id: id, configuration_key: key }).delete();
    await trx('configuration_parameters').insert({
      configuration_id: id,
      configuration_key: key,
      configuration_value: encodeValue(value),
      deleted: false,
    });
  }
}

export async function createConfiguration(db: Db, n: NewConfiguration, values: ConfigValues, now = new Date()): Promise<string> {
  const id = randomUUID();
  await db.transaction(async (trx) => {
    await trx('configurations').insert({
      id,
      name: n.name,
      description: n.description,
      tenant_id: n.tenantId,
      datastore_version_id: n.datastoreVersionId,
      deleted: false,
      created: now,
      updated: now,
    });
    await writeValues(trx, id, values);
  });
  return id;
}

/** Replaces (PUT) or merges (PATCH) the group's values, and renames it when asked. */
export async function saveValues(
  db: Db,
  id: string,
  values: ConfigValues,
  o: { replace: boolean; name?: string | undefined; description?: string | null | undefined },
): Promise<void> {
  await db.transaction(async (trx) => {
    if (o.replace) await trx('configuration_parameters').where({ configuration_id: id }).delete();
    await writeValues(trx, id, values);
    await trx('configurations')
      .where({ id })
      .update({
        updated: new Date(),
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(o.description !== undefined ? { description: o.description } : {}),
      });
  });
}

export async function deleteConfiguration(db: Db, id: string): Promise<void> {
  const now = new Date();
  await db.transaction(async (trx) => {
    await trx('configuration_parameters').where({ configuration_id: id, deleted: false }).update({ deleted: true, deleted_at: now });
    await trx('configurations').where({ id }).update({ deleted: true, deleted_at: now, updated: now });
  });
}

export interface AttachedInstance {
  id: string;
  name: string;
  task_id: number;
}

/** The live instances using a group (of one project unless projectId is undefined), by creation. */
export async function instancesUsing(
  db: Db,
  id: string,
  q: { projectId?: string | undefined; limit?: number; marker?: string | undefined } = {},
): Promise<{ items: AttachedInstance[]; more: boolean }> {
  const query = db('instances')
    .where({ configuration_id: id, deleted: false })
    .orderBy([
      { column: 'created', order: 'asc' },
      { column: 'id', order: 'asc' },
    ])
    .select('id', 'name', 'task_id');
  if (q.projectId !== undefined) query.where({ tenant_id: q.projectId });
  if (q.marker) {
    const m = await markerQuery(db, q.marker, q.projectId).first('created', 'id');
    if (m) query.where((w) => w.where('created', '>', m.created).orWhere((x) => x.where('created', m.created).andWhere('id', '>', m.id)));
  }
  if (q.limit === undefined) return { items: await query, more: false };
  const rows = (await query.limit(q.limit + 1)) as AttachedInstance[];
  return { items: rows.slice(0, q.limit), more: rows.length > q.limit };
}

export async function instanceCount(db: Db, id: string, projectId?: string): Promise<number> {
  const q = db('instances').where({ configuration_id: id, deleted: false });
  if (projectId !== undefined) q.where({ tenant_id: projectId });
  const row = await q.count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/**
 * Splits values into the ones the running engine takes at once (a rule says restart_required
 * false) and the ones that need a restart (static, or with no rule left).
 */
export function splitByRestart(values: ConfigValues, rules: ConfigParameterRow[]): { dynamic: ConfigValues; static: string[] } {
  const byName = new Map(rules.map((r) => [r.name, r]));
  const dynamic: ConfigValues = {};
  const stat: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    if (byName.get(k)?.restart_required === false) dynamic[k] = v;
    else stat.push(k);
  }
  return { dynamic, static: stat };
}

// ---- the instance routes (issue 13: SQL only in src/db) ----

/** A group's name, deleted or not (an instance still shows the name of the group it had). */
export async function configurationName(db: Db, id: string): Promise<string | undefined> {
  const row = (await db('configurations').where({ id }).first('name')) as { name: string } | undefined;
  return row?.name;
}
