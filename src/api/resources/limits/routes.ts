// /limits: the project's absolute quota limits and the caller's rate limits.
import Router from '@koa/router';
import { quotaLimits } from '../../../db/quotas.js';
import { requestContext, type ApiDeps } from '../../deps.js';

export function limitRoutes(deps: ApiDeps): Router {
  const router = new Router();
  router.get('/limits', async (ctx) => {
    const context = requestContext(ctx);
    deps.authorizer.authorize('limits:index', context);
    const q = await quotaLimits(deps.db, context.projectId, deps.quotaDefaults);
    ctx.body = {
      limits: [
        { verb: 'ABSOLUTE', max_instances: q.instances, max_ram: q.ram, max_backups: q.backups, max_volumes: q.volumes },
        ...deps.rateLimiter.view(context.userId).map((r) => ({
          nextAvailable: r.nextAvailable,
          remaining: r.remaining,
          unit: r.unit,
          value: r.value,
          verb: r.verb,
          uri: r.uri,
          regex: r.regex,
        })),
      ],
    };
  });
  return router;
}
