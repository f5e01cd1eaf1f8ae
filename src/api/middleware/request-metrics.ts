// Counts and times every request by the route template it matched (/v1.0/:tenant_id/instances/:id,
// never a path with ids in it), its method and its final status (after fault.ts rendered errors).
import type { Middleware } from 'koa';
import { apiRequestDuration, apiRequests } from '../../common/metrics/metrics.js';

/** The label of a request no route matched (a 404, or a refusal before routing: 401, 413). */
export const UNMATCHED_ROUTE = 'unmatched';

export function requestMetrics(): Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const route = typeof ctx._matchedRoute === 'string' ? ctx._matchedRoute : UNMATCHED_ROUTE;
      const labels = { route, method: ctx.method, status: String(ctx.status) };
      apiRequests.inc(labels);
      apiRequestDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
}
