// Seeds a control database with N live instances of one project as trove-ts keeps real ones: a
// service status each, datastores with several versions, flavors, addresses, access rules and an
// RPC key; and every kind of row a view shows, counted by rank from the newest (rank 0) so that
// any first page has them all: rank % 50 = 0 is the source of the two next ranks (replicas), rank
// % 10 in {0, 3} has a configuration group, rank % 25 in {1, 7} is in ERROR with a fault (and an
// older cleared one), rank % 5 = 0 has a completed backup and rank % 100 = 0 a running one too.
// One deleted instance follows every ten live ones, as history. For the list query-count test and
// the API benchmark (bench/api.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { Tasks } from '../../src/common/instance-tasks.js';
import { ServiceStatuses } from '../../src/common/service-status.js';

export interface Seeded {
  /** The live instances, newest first. */
  ids: string[];
  /** The datastores' ids, by name. */
  datastores: Record<string, string>;
  configurations: string[];
}

type Row = Record<string, unknown>;

const FLAVORS = ['ds1G', 'ds2G', 'ds4G', '7'];
const CHUNK = 500;

async function insertChunked(db: Knex, table: string, rows: Row[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await db(table).insert(rows.slice(i, i + CHUNK));
}

const STORES: Array<[string, Array<[string, string]>]> = [
  [
    'mariadb',
    [
      ['10.11', '10.11.19'],
      ['10.6', '10.6.21'],
    ],
  ],
  ['postgresql', [['16', '16.4']]],
  ['redis', [['7.2', '7.2.5']]],
];

async function seedDatastores(db: Knex): Promise<{ versions: string[]; datastores: Record<string, string> }> {
  const versions: string[] = [];
  const datastores: Record<string, string> = {};
  for (const [name, list] of STORES) {
    const existing = (await db('datastores').where({ name }).first('id')) as { id: string } | undefined;
    if (existing) {
      // a second project's instances: the datastores are the first one's
      for (const [v] of list) versions.push(((await db('datastore_versions').where({ datastore_id: existing.id, name: v }).first('id')) as { id: string }).id);
      datastores[name] = existing.id;
      continue;
    }
    const ds = randomUUID();
    const ids = list.map(() => randomUUID());
    await db('datastores').insert({ id: ds, name, default_version_id: ids[0] });
    await db('datastore_versions').insert(
      list.map(([v, number], k) => ({
        id: ids[k],
        datastore_id: ds,
        name: v,
        version: number,
        manager: name,
        image_id: randomUUID(),
        image_tags: `trove,${name}`,
        packages: '',
        active: true,
      })),
    );
    versions.push(...ids);
    datastores[name] = ds;
  }
  return { versions, datastores };
}

async function seedConfigurations(db: Knex, projectId: string, versions: string[], now: number): Promise<Row[]> {
  const configurations = versions.slice(0, 2).map((v, k) => ({
    id: randomUUID(),
    name: `group-${k}`,
    description: 'tuned',
    tenant_id: projectId,
    datastore_version_id: v,
    deleted: false,
    created: new Date(now - 86_400_000 + k * 1000),
    updated: new Date(now - 86_400_000 + k * 1000),
  }));
  await db('configurations').insert(configurations);
  await db('configuration_parameters').insert(
    configurations.map((c) => ({ configuration_id: c.id, configuration_key: 'max_connections', configuration_value: '200', deleted: false })),
  );
  return configurations;
}

function instanceRow(k: number, projectId: string, created: Date, versionId: string, configurationId: string | null, failed: boolean, deleted: boolean): Row {
  const task = failed ? Tasks.ACTION_ERROR : Tasks.NONE;
  return {
    id: randomUUID(),
    created,
    updated: created,
    name: `db-${k}`,
    compute_instance_id: randomUUID(),
    task_id: task.code,
    task_description: task.description,
    task_start_time: created,
    volume_id: randomUUID(),
    flavor_id: FLAVORS[k % FLAVORS.length],
    volume_size: 1 + (k % 10),
    volume_used: 0.12 + (k % 7) / 10,
    volume_type: 'standard',
    tenant_id: projectId,
    server_status: 'ACTIVE',
    deleted,
    deleted_at: deleted ? created : null,
    datastore_version_id: versionId,
    configuration_id: configurationId,
    encrypted_key: randomBytes(32).toString('base64'),
    access: JSON.stringify({ is_public: false, allowed_cidrs: [] }),
    addresses: JSON.stringify([{ address: `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`, type: 'private', network: 'trove-net' }]),
    availability_zone: 'nova',
  };
}

export async function seedInstances(db: Knex, projectId: string, n: number): Promise<Seeded> {
  const { versions, datastores } = await seedDatastores(db);
  const now = Date.now();
  const configurations = await seedConfigurations(db, projectId, versions, now);
  const instances: Row[] = [];
  const statuses: Row[] = [];
  const faults: Row[] = [];
  const backups: Row[] = [];
  const live: Row[] = [];
  const total = n + Math.floor(n / 10);
  for (let k = 0, i = 0; k < total; k++) {
    // oldest first: after every ten live instances, a deleted one
    const deleted = k % 11 === 10;
    const rank = n - 1 - i;
    if (!deleted) i += 1;
    const created = new Date(now - (total - k) * 60_000);
    const configuration = !deleted && (rank % 10 === 0 || rank % 10 === 3) ? configurations[Math.floor(rank / 10) % 2]! : undefined;
    const versionId = (configuration?.datastore_version_id as string | undefined) ?? versions[k % versions.length]!;
    const failed = !deleted && (rank % 25 === 1 || rank % 25 === 7);
    const row = instanceRow(k, projectId, created, versionId, (configuration?.id as string | undefined) ?? null, failed, deleted);
    const id = row.id as string;
    instances.push(row);
    if (!deleted) live.unshift(row);
    const status = deleted ? ServiceStatuses.DELETED : ServiceStatuses.HEALTHY;
    statuses.push({ id: randomUUID(), instance_id: id, status_id: status.code, status_description: status.description, updated_at: new Date(now) });
    if (failed) {
      faults.push({ id: randomUUID(), instance_id: id, message: 'cleared', details: 'an earlier fault', created, updated: created, deleted: true });
      const at = new Date(created.getTime() + 1000);
      faults.push({
        id: randomUUID(),
        instance_id: id,
        message: 'Resize failed',
        details: 'the guest did not answer',
        created: at,
        updated: at,
        deleted: false,
      });
    }
    for (const state of deleted || rank % 5 ? [] : rank % 100 ? ['COMPLETED'] : ['COMPLETED', 'BUILDING']) {
      backups.push({
        id: randomUUID(),
        name: `nightly-${k}-${state}`,
        state,
        tenant_id: projectId,
        instance_id: id,
        datastore_version_id: versionId,
        storage_driver: 'swift',
        backup_type: 'full',
        location: state === 'COMPLETED' ? `http://swift/v1/database_backups/${id}.xbstream.gz.enc` : null,
        size: state === 'COMPLETED' ? 0.5 : null,
        created,
        updated: state === 'COMPLETED' ? new Date(created.getTime() + 60_000) : created,
        deleted: false,
      });
    }
  }
  await insertChunked(db, 'instances', instances);
  await insertChunked(db, 'service_statuses', statuses);
  await insertChunked(db, 'instance_faults', faults);
  await insertChunked(db, 'backups', backups);
  // replicas point at a newer source (a promoted replica's old source is its replica now)
  for (let r = 0; r + 2 < live.length; r += 50) {
    await db('instances')
      .whereIn('id', [live[r + 1]!.id as string, live[r + 2]!.id as string])
      .update({ slave_of_id: live[r]!.id });
  }
  return { ids: live.map((r) => r.id as string), datastores, configurations: configurations.map((c) => c.id as string) };
}
