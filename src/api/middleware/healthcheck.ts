// GET/HEAD /healthcheck, before authentication (a load balancer has no token): the control
// database and the bus, in oslo.middleware's healthcheck shape (src/common/metrics/health.ts).
import type { Middleware } from 'koa';
import { healthResponse, runChecks, type HealthCheck } from '../../common/metrics/health.js';

export const HEALTHCHECK_PATH = '/healthcheck';

export function healthcheck(checks: HealthCheck[], detailed: boolean): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== HEALTHCHECK_PATH || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx._matchedRoute = HEALTHCHECK_PATH;
    const r = healthResponse(await runChecks(checks), { method: ctx.method, accept: ctx.get('Accept') || undefined, detailed });
    ctx.status = r.status;
    ctx.type = r.contentType;
    ctx.body = r.body;
  };
}
