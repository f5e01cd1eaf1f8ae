// Registers a datastore and its default version in a test's control database, as trove-manage
// datastore_version_update + datastore_update would (the all-in-one registers them the same way).
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

export interface RegisteredVersion {
  datastoreId: string;
  versionId: string;
}

export async function registerDatastore(db: Knex, o: { name?: string; version?: string; manager?: string; imageId?: string } = {}): Promise<RegisteredVersion> {
  const datastoreId = randomUUID();
  const versionId = randomUUID();
  const name = o.name ?? 'mariadb';
  const version = o.version ?? '10.11';
  await db('datastores').insert({ id: datastoreId, name, default_version_id: versionId });
  await db('datastore_versions').insert({
    id: versionId,
    datastore_id: datastoreId,
    name: version,
    version,
    manager: o.manager ?? name,
    image_id: o.imageId ?? 'local',
    packages: '',
    active: true,
  });
  return { datastoreId, versionId };
}
