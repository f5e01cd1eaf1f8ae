// GET / and GET /v1.0: the API version documents (no token needed).
import Router from '@koa/router';
import type { Context } from 'koa';

const V1 = { id: 'v1.0', status: 'CURRENT', updated: '2012-08-01T00:00:00Z' };

function selfLink(ctx: Context): { rel: string; href: string }[] {
  return [{ rel: 'self', href: `${ctx.protocol}://${ctx.host}/v1.0/` }];
}

export function versionRoutes(): Router {
  const router = new Router();
  router.get('/', (ctx) => {
    ctx.body = { versions: [{ ...V1, links: selfLink(ctx) }] };
  });
  router.get('/v1.0', (ctx) => {
    ctx.body = { version: { ...V1, links: selfLink(ctx) } };
  });
  router.get('/v1.0/', (ctx) => {
    ctx.body = { version: { ...V1, links: selfLink(ctx) } };
  });
  return router;
}
