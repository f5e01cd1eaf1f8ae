// Loads an instance of the caller's project (admins: any project) with Trove's 404, and the
// rows its views need.
import { authorizeOnResource } from '../../authorizer.js';
import type { Context } from 'koa';
import { NotFoundError } from '../../../common/errors.js';
import { getInstance, replicasOf, type InstanceRecord } from '../../../db/instances.js';
import { getDatastoreById, getVersionById } from '../../../db/datastores.js';
import { runningBackupOf } from '../../../db/backups.js';
import { configurationName } from '../../../db/configurations.js';
import { linkBase, requestContext, type ApiDeps } from '../../deps.js';
import { detailView, summaryView, type ViewInputs, type ViewOptions } from './views.js';
import { isHeartbeatStale } from './status.js';

export async function loadInstance(ctx: Context, deps: ApiDeps, id: string): Promise<InstanceRecord> {
  const context = requestContext(ctx);
  const row = await getInstance(deps.db, id, context.isAdmin ? undefined : context.projectId);
  if (!row) throw NotFoundError.resource(id);
  authorizeOnResource(ctx, deps.authorizer, context, row.tenant_id);
  return row;
}

export async function viewInputs(deps: ApiDeps, r: InstanceRecord): Promise<ViewInputs> {
  const version = await getVersionById(deps.db, r.datastore_version_id);
  const datastore = version ? await getDatastoreById(deps.db, version.datastore_id) : undefined;
  const running = await runningBackupOf(deps.db, r.id);
  const configuration = r.configuration_id ? await configurationName(deps.db, r.configuration_id) : undefined;
  const replicas = await replicasOf(deps.db, r.id);
  return {
    datastore,
    version,
    backupRunning: Boolean(running),
    heartbeatStale: isHeartbeatStale(r, deps.config.agent_heartbeat_expiry),
    configurationName: configuration,
    replicaIds: replicas.map((x) => x.id),
  };
}

export function viewOptions(ctx: Context, deps: ApiDeps): ViewOptions {
  return {
    base: linkBase(ctx, deps),
    isAdmin: requestContext(ctx).isAdmin,
    volumeSupport: deps.config.trove_volume_support,
    region: deps.config.os_region_name,
  };
}

export async function renderDetail(ctx: Context, deps: ApiDeps, r: InstanceRecord): Promise<Record<string, unknown>> {
  return detailView(r, await viewInputs(deps, r), viewOptions(ctx, deps));
}

export async function renderSummary(ctx: Context, deps: ApiDeps, r: InstanceRecord): Promise<Record<string, unknown>> {
  return summaryView(r, await viewInputs(deps, r), viewOptions(ctx, deps));
}
