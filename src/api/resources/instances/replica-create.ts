// POST /instances with replica_of (Trove's create rules for replicas): the replica takes its
// source's flavor, datastore version and volume; the source must be the caller's, not itself a
// replica, ready for an action, and of a datastore with replication.
import type { Context } from 'koa';
import { BadRequestError, NotFoundError, UnauthorizedError } from '../../../common/errors.js';
import { getInstance, type InstanceRecord } from '../../../db/instances.js';
import { getDatastoreById, getVersionById } from '../../../db/datastores.js';
import { runningBackupOf } from '../../../db/backups.js';
import { requestContext, type ApiDeps } from '../../deps.js';
import { assertCanAct } from './availability.js';
import type { InstanceCreateBody } from './schemas.js';

export interface ReplicaPlan {
  source: InstanceRecord;
  /** the body as a create of the source's flavor, datastore version and volume */
  body: InstanceCreateBody;
  count: number;
}

/** Trove's checks on the request itself, before the source is looked at. */
function checkRequest(body: InstanceCreateBody): void {
  if (!body.replica_of) {
    if (body.replica_count && body.replica_count > 1) {
      throw new BadRequestError(`Replica count only valid when creating replicas. Cannot create ${body.replica_count} instances.`);
    }
    return;
  }
  if (body.flavorRef !== undefined) throw new BadRequestError('Cannot specify flavor when creating replicas.');
  if (body.datastore !== undefined) throw new BadRequestError('Cannot specify datastore when creating replicas.');
  if (body.volume !== undefined) throw new BadRequestError('Cannot specify volume when creating replicas.');
  if (body.locality !== undefined) throw new BadRequestError('Cannot specify locality when creating replicas.');
  if (body.databases?.length || body.users?.length) throw new BadRequestError('Cannot create a replica with users or databases.');
  if (body.restorePoint) throw new BadRequestError('Cannot restore a backup into a replica: a replica starts from its source.');
  if (body.nics?.some((n) => n.ip_address || n['v4-fixed-ip'])) throw new BadRequestError('Cannot specify IP address when creating replicas.');
}

/** undefined for a plain create; a replica create's source and the body it amounts to. */
export async function planReplicas(ctx: Context, deps: ApiDeps, body: InstanceCreateBody): Promise<ReplicaPlan | undefined> {
  checkRequest(body);
  if (!body.replica_of) return undefined;
  const context = requestContext(ctx);
  const source = await getInstance(deps.db, body.replica_of, context.isAdmin ? undefined : context.projectId);
  if (!source) throw NotFoundError.resource(body.replica_of);
  if (source.slave_of_id) throw new UnauthorizedError(`Cannot create a replica of a replica ${body.replica_of}`);
  const version = await getVersionById(deps.db, source.datastore_version_id);
  const datastore = version ? await getDatastoreById(deps.db, version.datastore_id) : undefined;
  if (!version || !datastore) throw new BadRequestError(`The datastore version of instance ${source.id} is gone.`);
  if (!version.repl_strategy && !deps.replicationStrategy?.(version.manager)) {
    throw new BadRequestError(`Replication is not supported for the '${datastore.name}' datastore.`);
  }
  assertCanAct(source, Boolean(await runningBackupOf(deps.db, source.id)));
  return {
    source,
    count: body.replica_count ?? 1,
    body: {
      ...body,
      flavorRef: source.flavor_id,
      datastore: { type: datastore.name, version: version.id },
      ...(source.volume_size !== null ? { volume: { size: source.volume_size, type: source.volume_type } } : {}),
    },
  };
}
