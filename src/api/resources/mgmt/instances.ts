// GET /mgmt/instances (any project, deleted ones too), /mgmt/instances/{id}, its root history and
// an RPC ping of its guest; diagnostics and hwinfo answer Trove's 501 (no guest verbs for them).
// Admin only; POST /mgmt/instances/{id}/action lives with the other actions (instances/actions.ts).
import { authorizeAction } from '../../authorizer.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import { NotFoundError, NotImplementedError } from '../../../common/errors.js';
import { getInstance, type InstanceRecord } from '../../../db/instances.js';
import { listInstanceViews } from '../../../db/instance-views.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { nextLink, pageParams } from '../../pagination.js';
import { inputsOf, viewInputs, viewOptions } from '../instances/lookup.js';
import { rootHistory } from '../../../db/root-history.js';
import { mgmtInstanceDetailView, mgmtInstanceView, rootHistoryView } from './views.js';

/** Trove's `deleted` query: 'true' → only deleted, 'false' → only live, anything else → both. */
function deletedFilter(raw: unknown): boolean | undefined {
  const q = String(raw ?? '').toLowerCase();
  return q === 'true' ? true : q === 'false' ? false : undefined;
}

export function mgmtInstanceRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const authorize = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), `instance:extension:mgmt:${action}`);

  /** Any project's instance; deleted ones only when asked (`?deleted=true` on show). */
  async function load(ctx: Context, includeDeleted = false): Promise<InstanceRecord> {
    const id = param(ctx, 'id');
    const row = await getInstance(deps.db, id, undefined, includeDeleted);
    if (!row) throw NotFoundError.resource(id);
    return row;
  }

  router.get('/mgmt/instances', async (ctx) => {
    authorize(ctx, 'index');
    const { limit, marker } = pageParams(ctx, deps.config.paginate_max_limit);
    const projectId = typeof ctx.query.project_id === 'string' && ctx.query.project_id !== '' ? ctx.query.project_id : undefined;
    const page = await listInstanceViews(deps.db, {
      projectId,
      limit,
      marker,
      includeClustered: String(ctx.query.include_clustered ?? '').toLowerCase() === 'true',
      includeDeleted: true,
      deleted: deletedFilter(ctx.query.deleted),
    });
    const options = viewOptions(ctx, deps);
    const instances = page.items.map(({ record, rows }) => mgmtInstanceView(record, inputsOf(deps, record, rows), options));
    ctx.body = { instances, ...(page.more ? { links: [nextLink(ctx, deps, page.items[page.items.length - 1]!.record.id)] } : {}) };
  });

  router.get('/mgmt/instances/:id', async (ctx) => {
    authorize(ctx, 'show');
    const row = await load(ctx, deletedFilter(ctx.query.deleted) === true);
    const view = mgmtInstanceDetailView(row, await viewInputs(deps, row), viewOptions(ctx, deps), await rootHistory(deps.db, row.id));
    ctx.body = { instance: view };
  });

  router.get('/mgmt/instances/:id/root', async (ctx) => {
    authorize(ctx, 'root');
    const row = await load(ctx);
    ctx.body = rootHistoryView(row.id, await rootHistory(deps.db, row.id));
  });

  router.get('/mgmt/instances/:id/rpc_ping', async (ctx) => {
    authorize(ctx, 'rpc_ping');
    const row = await load(ctx);
    await deps.guest(row.id, row.encrypted_key).rpc_ping({}, { timeoutMs: deps.config.agent_call_low_timeout * 1000 });
    ctx.status = 204;
    ctx.body = null;
  });

  for (const what of ['diagnostics', 'hwinfo'] as const) {
    router.get(`/mgmt/instances/:id/${what}`, async (ctx) => {
      authorize(ctx, what);
      await load(ctx);
      throw new NotImplementedError(`Getting the ${what} of an instance is not supported by this deployment.`);
    });
  }

  return router;
}
