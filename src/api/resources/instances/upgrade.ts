// PATCH /instances/{id} {"instance": {"datastore_version": "<id or name>"}} (the CLI's `instance
// upgrade`): Trove's DatastoreVersion.load in the instance's own datastore, then the checks Trove
// leaves to the guest made here, where the user can be told: an active, newer version of the same
// datastore, an instance that accepts an action. A replication source is upgraded with its
// replicas (every member UPGRADING, replicas first, in the taskmanager's flow).
import type { Context } from 'koa';
import { BadRequestError, ConflictError, UnprocessableEntityError } from '../../../common/errors.js';
import { Tasks } from '../../../common/instance-tasks.js';
import { findVersion, getDatastoreById, getVersionById, listDatastores, type DatastoreVersionRow } from '../../../db/datastores.js';
import { replicasOf, type InstanceRecord } from '../../../db/instances.js';
import { instanceService } from '../../instance-service/service.js';
import { requestContext, tokenInfo, type ApiDeps } from '../../deps.js';
import { compareVersions, numberOf } from '../../../common/versions.js';
import { DatastoreVersionInactiveError, DatastoreVersionNotFoundError } from '../datastores/lookup.js';

/** The target version, with Trove's errors; a version of another datastore is named as such (400). */
export async function loadUpgradeTarget(
  deps: ApiDeps,
  row: InstanceRecord,
  ref: string,
): Promise<{ current: DatastoreVersionRow; target: DatastoreVersionRow }> {
  const current = await getVersionById(deps.db, row.datastore_version_id);
  if (!current) throw new BadRequestError(`Instance ${row.id} has no datastore version; it cannot be upgraded.`);
  const datastore = await getDatastoreById(deps.db, current.datastore_id);
  const found = await findVersion(deps.db, current.datastore_id, ref);
  if (found === 'ambiguous')
    throw new BadRequestError(`Multiple datastore versions found for '${ref}' of datastore '${datastore?.name}': give the version id.`);
  if (!found) {
    for (const other of await listDatastores(deps.db)) {
      if (other.id === current.datastore_id) continue;
      const v = await findVersion(deps.db, other.id, ref);
      if (v) {
        throw new BadRequestError(
          `Datastore version '${ref}' is a version of datastore '${other.name}'; instance ${row.id} is of datastore '${datastore?.name}' and can only be upgraded to one of its versions.`,
        );
      }
    }
    throw new DatastoreVersionNotFoundError(ref);
  }
  const target = found;
  if (target.id === current.id) throw new BadRequestError(`Instance ${row.id} is already on datastore version '${current.name}' (${numberOf(current)}).`);
  if (!target.active) throw new DatastoreVersionInactiveError(target.name);
  if (target.manager !== current.manager) {
    throw new BadRequestError(`Datastore version '${target.name}' runs manager '${target.manager}', not '${current.manager}'; an upgrade keeps the manager.`);
  }
  const order = compareVersions(numberOf(target), numberOf(current));
  if (order !== undefined && order <= 0) {
    throw new ConflictError(
      `Datastore version '${target.name}' (${numberOf(target)}) is not newer than the instance's '${current.name}' (${numberOf(current)}); downgrades are not supported.`,
    );
  }
  return { current, target };
}

/**
 * PostgreSQL physical streaming replication does not cross major versions: a standby replays its
 * source's WAL block for block, and the on-disk format differs between majors. So a replica can
 * neither be upgraded first (it would no longer replay the older source's WAL) nor after (pg_upgrade
 * needs a primary it can start; the docs' rsync of standbys is a re-seed from the upgraded source).
 * RDS upgrades the source and re-creates the replicas; here an instance in a replication set is
 * refused (Trove's 422) with what to do: detach the replicas, upgrade, create them again.
 */
/**
 * Trove's replication strategies whose replicas replay their source's storage block for block
 * (physical WAL streaming), so that a replica and its source must run the same major version.
 */
const PHYSICAL_REPLICATION = new Set(['PostgresqlReplication']);

export function refuseMajorAcrossReplication(
  row: InstanceRecord,
  current: DatastoreVersionRow,
  target: DatastoreVersionRow,
  replicas: string[],
  strategy: string | undefined,
): void {
  if (!strategy || !PHYSICAL_REPLICATION.has(strategy)) return;
  const major = (v: DatastoreVersionRow) => numberOf(v).split('.')[0];
  if (major(current) === major(target)) return;
  const move = `from ${numberOf(current)} to ${numberOf(target)}`;
  const why = `its replication (${strategy}, physical streaming) does not cross major versions`;
  if (row.slave_of_id) {
    throw new UnprocessableEntityError(
      `Instance ${row.id} is a replica of ${row.slave_of_id}: ${why}, so a replica cannot be upgraded ${move}. Upgrade its source instead (after detaching its replicas), then create the replicas again.`,
    );
  }
  if (replicas.length) {
    throw new UnprocessableEntityError(
      `Instance ${row.id} has replicas (${replicas.join(', ')}): ${why}, so a replication set cannot be upgraded ${move}. Detach the replicas (openstack database instance detach replica), upgrade the instance, then create the replicas again from it.`,
    );
  }
}

export async function upgradeInstance(
  ctx: Context,
  deps: ApiDeps,
  row: InstanceRecord,
  ref: string,
  ready: (r: InstanceRecord) => Promise<void>,
): Promise<void> {
  await ready(row);
  const { current, target } = await loadUpgradeTarget(deps, row, ref);
  // a source is upgraded with its replicas (all taken or none: Trove's 422 naming the busy one)
  const replicas = await replicasOf(deps.db, row.id);
  refuseMajorAcrossReplication(row, current, target, replicas, current.repl_strategy || deps.replicationStrategy?.(current.manager));
  const storage = await deps.backupStorage(requestContext(ctx), tokenInfo(ctx));
  await instanceService(deps).act({
    what: 'upgrade',
    projectId: row.tenant_id,
    members: [row.id, ...replicas].map((id) => ({ id })),
    task: Tasks.UPGRADING,
    casts: [{ send: () => deps.taskmanager.upgrade({ instance_id: row.id, datastore_version_id: target.id, storage }) }],
    unreachable: () => 'The taskmanager could not be reached; the instance was not upgraded.',
  });
}
