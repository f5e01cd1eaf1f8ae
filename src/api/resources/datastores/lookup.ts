// Finds a datastore and one of its versions the way Trove does, with Trove's errors.
import { BadRequestError, NotFoundError } from '../../../common/errors.js';
import type { Db } from '../../../db/connection.js';
import { findDatastore, findVersion, getVersionById, type DatastoreRow, type DatastoreVersionRow } from '../../../db/datastores.js';

export class DatastoreNotFoundError extends NotFoundError {
  constructor(name: string) {
    super(`Datastore '${name}' cannot be found.`);
  }
}

/** Trove maps DatastoreVersionNotFound to 400, not 404. */
export class DatastoreVersionNotFoundError extends BadRequestError {
  constructor(version: string) {
    super(`Datastore version '${version}' cannot be found.`);
  }
}

export class DatastoreVersionInactiveError extends BadRequestError {
  constructor(version: string) {
    super(`Datastore version '${version}' is not active.`);
  }
}

export async function loadDatastore(db: Db, idOrName: string): Promise<DatastoreRow> {
  const ds = await findDatastore(db, idOrName);
  if (!ds) throw new DatastoreNotFoundError(idOrName);
  return ds;
}

export async function loadVersion(db: Db, datastore: DatastoreRow, idOrName: string): Promise<DatastoreVersionRow> {
  const v = await findVersion(db, datastore.id, idOrName);
  if (v === 'ambiguous') {
    throw new BadRequestError(`Multiple datastore versions found for '${idOrName}' of datastore '${datastore.name}': give the version id.`);
  }
  if (!v) throw new DatastoreVersionNotFoundError(idOrName);
  return v;
}

export async function loadVersionById(db: Db, id: string): Promise<DatastoreVersionRow> {
  const v = await getVersionById(db, id);
  if (!v) throw new DatastoreVersionNotFoundError(id);
  return v;
}

/**
 * The datastore and version a create call asks for: the named ones, or the configured default
 * datastore and its default version. The version must be active.
 */
export async function resolveForCreate(
  db: Db,
  request: { type?: string | undefined; version?: string | undefined },
  defaultDatastore: string,
): Promise<{ datastore: DatastoreRow; version: DatastoreVersionRow }> {
  const dsName = request.type ?? (defaultDatastore || undefined);
  if (!dsName) throw new BadRequestError('Please specify datastore. Default datastore cannot be found.');
  const datastore = await loadDatastore(db, dsName);
  let version: DatastoreVersionRow;
  if (request.version) {
    version = await loadVersion(db, datastore, request.version);
  } else {
    if (!datastore.default_version_id) {
      throw new BadRequestError(`Default version for datastore '${datastore.name}' not found.`);
    }
    version = await loadVersionById(db, datastore.default_version_id);
  }
  if (!version.active) throw new DatastoreVersionInactiveError(version.name);
  return { datastore, version };
}
