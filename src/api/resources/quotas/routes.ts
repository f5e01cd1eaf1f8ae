// /mgmt/quotas/{project}: show (own project, or any as admin) and update (admin).
import Router from '@koa/router';
import { NotFoundError } from '../../../common/errors.js';
import { isQuotaResource, quotaUsages, setQuotaLimits, type QuotaLimits } from '../../../db/quotas.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { parseBody } from '../../validate.js';
import { quotaUpdateBody } from './schemas.js';

export function quotaRoutes(deps: ApiDeps): Router {
  const router = new Router();

  router.get('/mgmt/quotas/:project', async (ctx) => {
    const project = param(ctx, 'project');
    // quota:show (admin or owner of the project asked about), as the policy file says
    deps.authorizer.authorize('quota:show', requestContext(ctx), project);
    const rows = await quotaUsages(deps.db, project, deps.quotaDefaults);
    ctx.body = { quotas: rows.map((r) => ({ resource: r.resource, in_use: r.in_use, reserved: r.reserved, limit: r.limit })) };
  });

  router.put('/mgmt/quotas/:project', async (ctx) => {
    const context = requestContext(ctx);
    deps.authorizer.authorize('quota:update', context, param(ctx, 'project'));
    const body = parseBody(quotaUpdateBody, ctx.request.body);
    const unknown = Object.keys(body.quotas).filter((k) => !isQuotaResource(k));
    if (unknown.length) {
      throw new NotFoundError(`Unknown quota resources [${unknown.map((u) => `'${u}'`).join(', ')}].`);
    }
    const changed = await setQuotaLimits(deps.db, param(ctx, 'project'), body.quotas as Partial<QuotaLimits>);
    ctx.body = { quotas: changed };
  });
  return router;
}
