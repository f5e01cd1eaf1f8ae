// Loads an instance of the caller's project (admins: any project) with Trove's 404, and the
// rows its views need.
import { authorizeOnResource } from '../../authorizer.js';
import type { Context } from 'koa';
import { NotFoundError } from '../../../common/errors.js';
import { getInstance, type InstanceRecord } from '../../../db/instances.js';
import {
  getInstanceView,
  instanceViewRows,
  type InstanceShowView,
  type InstanceSummary,
  type InstanceSummaryRecord,
  type InstanceView,
  type InstanceViewRows,
} from '../../../db/instance-views.js';
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

/** Loads an instance as loadInstance does, with what its views show and its newest metrics sample (one query). */
export async function loadInstanceView(ctx: Context, deps: ApiDeps, id: string): Promise<InstanceShowView> {
  const context = requestContext(ctx);
  const view = await getInstanceView(deps.db, id, context.isAdmin ? undefined : context.projectId);
  if (!view) throw NotFoundError.resource(id);
  authorizeOnResource(ctx, deps.authorizer, context, view.record.tenant_id);
  return view;
}

/** The inputs of an instance's views from its rows (a page's come from one batch of queries). */
export function inputsOf(deps: ApiDeps, r: InstanceSummaryRecord, rows: InstanceViewRows): ViewInputs {
  // written out, not a spread of rows: a page builds one per instance
  return {
    datastore: rows.datastore,
    version: rows.version,
    configurationName: rows.configurationName,
    backupRunning: rows.backupRunning,
    replicaIds: rows.replicaIds,
    heartbeatStale: isHeartbeatStale(r, deps.config.agent_heartbeat_expiry),
  };
}

export async function viewInputs(deps: ApiDeps, r: InstanceRecord): Promise<ViewInputs> {
  return inputsOf(deps, r, (await instanceViewRows(deps.db, [r])).get(r.id)!);
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

/** A page of instances in the summary (list) view, from rows loaded for the whole page. */
export function renderSummaries(ctx: Context, deps: ApiDeps, page: InstanceSummary[]): Array<Record<string, unknown>> {
  const options = viewOptions(ctx, deps);
  return page.map(({ record, rows }) => summaryView(record, inputsOf(deps, record, rows), options));
}

/** A page of instances in the summary (list) or detail view, from rows loaded for the whole page. */
export function renderPage(ctx: Context, deps: ApiDeps, page: InstanceView[], detail: boolean): Array<Record<string, unknown>> {
  if (!detail) return renderSummaries(ctx, deps, page);
  const options = viewOptions(ctx, deps);
  return page.map(({ record, rows }) => detailView(record, inputsOf(deps, record, rows), options));
}
