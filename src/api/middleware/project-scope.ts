// For /v1.0/{project_id}/...: authenticate, run Trove's tenant check, count the rate limit.
// Everything else (/, /v1.0) passes through unauthenticated.
import type { Middleware } from 'koa';
import type { RequestContext } from '../../common/context.js';
import type { RateLimiter } from '../rate-limit.js';
import { authenticate, type AuthOptions } from './auth.js';

const PROJECT_PATH = /^\/v1\.0\/([^/]+)(\/.*)?$/;

export function projectScope(auth: AuthOptions, limiter: RateLimiter): Middleware {
  const authn = authenticate(auth);
  return async (ctx, next) => {
    const m = PROJECT_PATH.exec(ctx.path);
    if (!m) return next();
    ctx.state.urlProjectId = decodeURIComponent(m[1]!);
    await authn(ctx, async () => {
      const context = ctx.state.context as RequestContext;
      limiter.hit(context.userId, ctx.method, m[2] ?? '/');
      await next();
    });
  };
}
