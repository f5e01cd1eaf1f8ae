// Datastores, their versions and the versions' configuration parameter rules.
import { randomUUID } from 'node:crypto';
import type { Db } from './connection.js';

export interface DatastoreRow {
  id: string;
  name: string;
  default_version_id: string | null;
}

export interface DatastoreVersionRow {
  id: string;
  datastore_id: string;
  name: string;
  image_id: string | null;
  image_tags: string | null;
  packages: string | null;
  active: boolean;
  manager: string;
  version: string | null;
  registry_ext: string | null;
  repl_strategy: string | null;
}

export interface ConfigParameterRow {
  id: string;
  name: string;
  datastore_version_id: string;
  restart_required: boolean;
  max_size: string | null;
  min_size: string | null;
  data_type: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const looksLikeUuid = (s: string): boolean => UUID_RE.test(s);

function version(row: Record<string, unknown>): DatastoreVersionRow {
  return { ...(row as unknown as DatastoreVersionRow), active: Boolean(row.active) };
}

export async function listDatastores(db: Db): Promise<DatastoreRow[]> {
  return db<DatastoreRow>('datastores').select('*').orderBy('name');
}

/** By id, then by name (as Trove's Datastore.load). */
export async function findDatastore(db: Db, idOrName: string): Promise<DatastoreRow | undefined> {
  return (await db<DatastoreRow>('datastores').where({ id: idOrName }).first()) ?? (await db<DatastoreRow>('datastores').where({ name: idOrName }).first());
}

export async function listVersions(db: Db, datastoreId?: string): Promise<DatastoreVersionRow[]> {
  const q = db('datastore_versions').select('*').orderBy('name');
  if (datastoreId) q.where({ datastore_id: datastoreId });
  return (await q).map(version);
}

export async function getVersionById(db: Db, id: string): Promise<DatastoreVersionRow | undefined> {
  const row = await db('datastore_versions').where({ id }).first();
  return row ? version(row) : undefined;
}

/**
 * A version of a datastore by id, else by name, else by version number (Trove's
 * DatastoreVersion.load). More than one match by name → 'ambiguous'.
 */
export async function findVersion(db: Db, datastoreId: string, idOrName: string): Promise<DatastoreVersionRow | 'ambiguous' | undefined> {
  const byId = await db('datastore_versions').where({ datastore_id: datastoreId, id: idOrName }).first();
  if (byId) return version(byId);
  const byName = await db('datastore_versions').where({ datastore_id: datastoreId, name: idOrName });
  if (byName.length > 1) return 'ambiguous';
  if (byName.length === 1) return version(byName[0]);
  const byNumber = await db('datastore_versions').where({ datastore_id: datastoreId, version: idOrName });
  if (byNumber.length > 1) return 'ambiguous';
  return byNumber.length === 1 ? version(byNumber[0]) : undefined;
}

/** A version of a datastore by name and version number together (a name alone may be ambiguous). */
export async function findVersionByNumber(db: Db, datastoreId: string, name: string, versionNumber: string): Promise<DatastoreVersionRow | undefined> {
  const row = await db('datastore_versions').where({ datastore_id: datastoreId, name, version: versionNumber }).first();
  return row ? version(row) : undefined;
}

export async function listConfigParameters(db: Db, versionId: string): Promise<ConfigParameterRow[]> {
  const rows = await db('datastore_configuration_parameters').where({ datastore_version_id: versionId, deleted: false }).orderBy('name');
  return rows.map((r: Record<string, unknown>) => ({ ...(r as unknown as ConfigParameterRow), restart_required: Boolean(r.restart_required) }));
}

/** Version metadata values of one key (e.g. 'flavor' or 'volume_type' restrictions). */
export async function versionMetadata(db: Db, versionId: string, key: string): Promise<string[]> {
  const rows = await db('datastore_version_metadata').where({ datastore_version_id: versionId, key, deleted: false }).select('value');
  return rows.map((r: { value: string }) => r.value);
}

// ---- write side (trove-manage and the management API) ----

/** Removes a datastore (the caller checked that it has no versions left). */
export async function deleteDatastore(db: Db, id: string): Promise<void> {
  await db('datastores').where({ id }).delete();
}

/** Creates the datastore if missing; returns it. */
export async function upsertDatastore(db: Db, name: string): Promise<DatastoreRow> {
  const existing = await db<DatastoreRow>('datastores').where({ name }).first();
  if (existing) return existing;
  const row: DatastoreRow = { id: randomUUID(), name, default_version_id: null };
  await db('datastores').insert(row);
  return row;
}

export interface VersionSpec {
  datastore: string;
  name: string;
  manager: string;
  imageId: string | null;
  imageTags: string[];
  packages: string[];
  active: boolean;
  version?: string | undefined;
  registryExt?: string | undefined;
  replStrategy?: string | undefined;
}

/**
 * Upserts a version by (datastore, name, version); creates the datastore if missing. With
 * `createOnly` an existing version is left as it is (`created: false`), as the management API's
 * create refuses duplicates.
 */
export async function upsertVersion(
  db: Db,
  spec: VersionSpec,
  options: { createOnly?: boolean } = {},
): Promise<{ version: DatastoreVersionRow; created: boolean }> {
  return db.transaction(async (trx) => {
    let ds = await trx<DatastoreRow>('datastores').where({ name: spec.datastore }).first();
    if (!ds) {
      ds = { id: randomUUID(), name: spec.datastore, default_version_id: null };
      await trx('datastores').insert(ds);
    }
    const versionNumber = spec.version ?? spec.name;
    const fields = {
      manager: spec.manager,
      image_id: spec.imageId,
      image_tags: spec.imageTags.join(','),
      packages: spec.packages.join(','),
      active: spec.active,
      registry_ext: spec.registryExt ?? null,
      repl_strategy: spec.replStrategy ?? null,
    };
    const existing = await trx('datastore_versions').where({ datastore_id: ds.id, name: spec.name, version: versionNumber }).first();
    if (existing && options.createOnly) return { version: version(existing), created: false };
    if (existing) {
      await trx('datastore_versions').where({ id: existing.id }).update(fields);
      return { version: version({ ...existing, ...fields }), created: false };
    }
    const row = { id: randomUUID(), datastore_id: ds.id, name: spec.name, version: versionNumber, ...fields };
    await trx('datastore_versions').insert(row);
    return { version: version(row), created: true };
  });
}

export type VersionFields = Partial<
  Pick<DatastoreVersionRow, 'name' | 'manager' | 'image_id' | 'image_tags' | 'packages' | 'active' | 'registry_ext' | 'repl_strategy'>
>;

/** Changes a version's fields in place. Renaming onto another version of the datastore → 'duplicate'. */
export async function updateVersion(db: Db, id: string, fields: VersionFields): Promise<'updated' | 'duplicate'> {
  return db.transaction(async (trx) => {
    if (fields.name !== undefined) {
      const row = await trx('datastore_versions').where({ id }).first('datastore_id', 'version');
      const clash = await trx('datastore_versions')
        .where({ datastore_id: row?.datastore_id, name: fields.name, version: row?.version })
        .whereNot({ id })
        .first('id');
      if (clash) return 'duplicate';
    }
    if (Object.keys(fields).length) await trx('datastore_versions').where({ id }).update(fields);
    return 'updated';
  });
}

/** Tables whose rows name a datastore version, in the order Trove checks them before a delete. */
const VERSION_USERS = [
  ['instances', 'instance'],
  ['backups', 'backup'],
  ['configurations', 'configuration'],
  ['clusters', 'cluster'],
] as const;

/**
 * What still uses a version: `live` names the first kind of live row (instance, backup,
 * configuration, cluster), else `deleted` the first kind of deleted row still pointing at it.
 */
export async function versionUsers(db: Db, id: string): Promise<{ live?: string; deleted?: string }> {
  for (const [table, kind] of VERSION_USERS) {
    if (await db(table).where({ datastore_version_id: id, deleted: false }).first('id')) return { live: kind };
  }
  for (const [table, kind] of VERSION_USERS) {
    if (await db(table).where({ datastore_version_id: id }).first('id')) return { deleted: kind };
  }
  return {};
}

/** Deletes a version with its parameter rules, metadata and capability overrides; clears it as default. */
export async function deleteVersion(db: Db, id: string): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('datastores').where({ default_version_id: id }).update({ default_version_id: null });
    for (const table of ['datastore_configuration_parameters', 'datastore_version_metadata', 'capability_overrides']) {
      await trx(table).where({ datastore_version_id: id }).delete();
    }
    await trx('datastore_versions').where({ id }).delete();
  });
}

export async function setDefaultVersion(db: Db, datastoreId: string, versionId: string | null): Promise<void> {
  await db('datastores').where({ id: datastoreId }).update({ default_version_id: versionId });
}

export interface ParameterRule {
  name: string;
  restart_required: boolean;
  type: 'integer' | 'string' | 'boolean' | 'float';
  max?: number | undefined;
  min?: number | undefined;
}

/** Replaces a version's parameter rules by name (upsert), in one transaction. */
export async function loadConfigParameters(db: Db, versionId: string, rules: ParameterRule[]): Promise<number> {
  return db.transaction(async (trx) => {
    for (const r of rules) {
      const fields = {
        restart_required: r.restart_required,
        data_type: r.type,
        max_size: r.max === undefined ? null : String(r.max),
        min_size: r.min === undefined ? null : String(r.min),
        deleted: false,
        deleted_at: null,
      };
      const existing = await trx('datastore_configuration_parameters').where({ datastore_version_id: versionId, name: r.name }).first('id');
      if (existing) await trx('datastore_configuration_parameters').where({ id: existing.id }).update(fields);
      else await trx('datastore_configuration_parameters').insert({ id: randomUUID(), name: r.name, datastore_version_id: versionId, ...fields });
    }
    return rules.length;
  });
}

/** One parameter rule of a version by name (not deleted), or undefined. */
export async function getConfigParameter(db: Db, versionId: string, name: string): Promise<ConfigParameterRow | undefined> {
  const r = await db('datastore_configuration_parameters').where({ datastore_version_id: versionId, name, deleted: false }).first();
  return r ? { ...(r as ConfigParameterRow), restart_required: Boolean(r.restart_required) } : undefined;
}

/** Marks one parameter rule deleted (as Trove); false when there is none. */
export async function deleteConfigParameter(db: Db, versionId: string, name: string): Promise<boolean> {
  const n = await db('datastore_configuration_parameters')
    .where({ datastore_version_id: versionId, name, deleted: false })
    .update({ deleted: true, deleted_at: new Date() });
  return n > 0;
}

export async function removeConfigParameters(db: Db, versionId: string): Promise<number> {
  return db('datastore_configuration_parameters').where({ datastore_version_id: versionId }).delete();
}

export async function addVersionMetadata(db: Db, versionId: string, key: string, values: string[]): Promise<string[]> {
  const added: string[] = [];
  await db.transaction(async (trx) => {
    for (const value of values) {
      const existing = await trx('datastore_version_metadata').where({ datastore_version_id: versionId, key, value }).first();
      if (existing && !existing.deleted) continue;
      if (existing) await trx('datastore_version_metadata').where({ id: existing.id }).update({ deleted: false, deleted_at: null, updated_at: new Date() });
      else
        await trx('datastore_version_metadata').insert({ id: randomUUID(), datastore_version_id: versionId, key, value, created: new Date(), deleted: false });
      added.push(value);
    }
  });
  return added;
}

export async function deleteVersionMetadata(db: Db, versionId: string, key: string, value: string): Promise<boolean> {
  const n = await db('datastore_version_metadata')
    .where({ datastore_version_id: versionId, key, value, deleted: false })
    .update({ deleted: true, deleted_at: new Date() });
  return n > 0;
}

// ---- the instance routes (issue 13: SQL only in src/db) ----

/** A datastore by its id only. */
export async function getDatastoreById(db: Db, id: string): Promise<DatastoreRow | undefined> {
  return db<DatastoreRow>('datastores').where({ id }).first();
}
