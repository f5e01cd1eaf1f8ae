// /instances/{id}/root: enable (the password is shown once), whether it was ever enabled (Trove
// answers from its root history), disable.
import { authorizeAction } from '../../authorizer.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import { NotFoundError } from '../../../common/errors.js';
import { recordRootEnabled, rootHistory } from '../../../db/root-history.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { parseBody } from '../../validate.js';
import { rootEnable } from './admin-schemas.js';
import { checkPassword, guestTarget } from './guest-access.js';
import { loadInstance } from './lookup.js';

export function rootRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const authorize = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), `instance:extension:root:${action}`);

  router.get('/instances/:id/root', async (ctx) => {
    authorize(ctx, 'index');
    const row = await loadInstance(ctx, deps, param(ctx, 'id'));
    ctx.body = { rootEnabled: Boolean(await rootHistory(deps.db, row.id)) };
  });

  router.post('/instances/:id/root', async (ctx) => {
    authorize(ctx, 'create');
    const body = parseBody(rootEnable, ctx.request.body ?? undefined);
    const t = await guestTarget(ctx, deps, param(ctx, 'id'));
    if (body?.password !== undefined) checkPassword(body.password);
    const user = body?.password ? await t.guest.enable_root_with_password({ root_password: body.password }, t.quick) : await t.guest.enable_root({}, t.quick);
    await recordRootEnabled(deps.db, t.row.id, requestContext(ctx).userId);
    ctx.status = 200;
    ctx.body = { user: { name: user._name, password: user._password ?? null } };
  });

  router.delete('/instances/:id/root', async (ctx) => {
    authorize(ctx, 'delete');
    const t = await guestTarget(ctx, deps, param(ctx, 'id'));
    if (!(await rootHistory(deps.db, t.row.id))) throw new NotFoundError(`The root user was never enabled on instance ${t.row.id}.`);
    await t.guest.disable_root({}, t.quick);
    ctx.status = 204;
    ctx.body = null;
  });

  return router;
}
