// /flavors: Nova's flavors in Trove's shape, fetched with the caller's token.
import { authorizeAction } from '../../authorizer.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import { ComputeNotFoundError } from '../../../clients/compute.js';
import { NotFoundError } from '../../../common/errors.js';
import { linkBase, param, requestContext, tokenInfo, type ApiDeps } from '../../deps.js';
import { flavorView } from './views.js';

export function flavorRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const compute = (ctx: Context) => deps.userClients(requestContext(ctx), tokenInfo(ctx)).compute;

  router.get('/flavors', async (ctx) => {
    authorizeAction(ctx, deps.authorizer, requestContext(ctx), 'flavor:index');
    const flavors = await compute(ctx).listFlavors();
    ctx.body = { flavors: flavors.map((f) => flavorView(linkBase(ctx, deps), f, deps.config.trove_volume_support)) };
  });

  router.get('/flavors/:id', async (ctx) => {
    authorizeAction(ctx, deps.authorizer, requestContext(ctx), 'flavor:show');
    try {
      const f = await compute(ctx).getFlavor(param(ctx, 'id'));
      ctx.body = { flavor: flavorView(linkBase(ctx, deps), f, deps.config.trove_volume_support) };
    } catch (err) {
      if (err instanceof ComputeNotFoundError) throw NotFoundError.resource(param(ctx, 'id'));
      throw err;
    }
  });
  return router;
}
