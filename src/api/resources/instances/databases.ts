// /instances/{id}/databases: list (paged by name), create, delete — done by the guest on the engine.
import { authorizeAction } from '../../authorizer.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import { BadRequestError, NotFoundError, NotImplementedError } from '../../../common/errors.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { nextLink, pageParams } from '../../pagination.js';
import { parseBody } from '../../validate.js';
import { databasesCreate } from './admin-schemas.js';
import { checkDatabaseName, guestTarget, type GuestTarget } from './guest-access.js';

/** Whether the engine has a database of exactly this name. */
export async function databaseExists(t: GuestTarget, name: string): Promise<boolean> {
  const [items] = await t.guest.list_databases({ limit: 1, marker: name, include_marker: true }, t.quick);
  return items[0]?._name === name;
}

export function databaseRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const authorize = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), `instance:extension:database:${action}`);

  router.get('/instances/:id/databases', async (ctx) => {
    authorize(ctx, 'index');
    const { limit, marker } = pageParams(ctx, deps.config.paginate_max_limit);
    const t = await guestTarget(ctx, deps, param(ctx, 'id'));
    const [items, next] = await t.guest.list_databases({ limit, marker: marker ?? null, include_marker: false }, t.quick);
    ctx.body = { databases: items.map((d) => ({ name: d._name })), ...(next ? { links: [nextLink(ctx, deps, next)] } : {}) };
  });

  router.post('/instances/:id/databases', async (ctx) => {
    authorize(ctx, 'create');
    const body = parseBody(databasesCreate, ctx.request.body);
    const t = await guestTarget(ctx, deps, param(ctx, 'id'));
    const seen = new Set<string>();
    for (const d of body.databases) {
      checkDatabaseName(d.name, t.names);
      if (seen.has(d.name)) throw new BadRequestError(`Database '${d.name}' is named twice in the request.`);
      seen.add(d.name);
    }
    for (const d of body.databases) {
      if (await databaseExists(t, d.name)) throw new BadRequestError(`A database with the name '${d.name}' already exists.`);
    }
    await t.guest.create_database(
      { databases: body.databases.map((d) => ({ _name: d.name, _character_set: d.character_set ?? null, _collate: d.collate ?? null })) },
      t.quick,
    );
    ctx.status = 202;
  });

  router.get('/instances/:id/databases/:name', () => {
    throw new NotImplementedError('Showing a single database is not supported.');
  });

  router.delete('/instances/:id/databases/:name', async (ctx) => {
    authorize(ctx, 'delete');
    const name = param(ctx, 'name');
    const t = await guestTarget(ctx, deps, param(ctx, 'id'));
    checkDatabaseName(name, t.names);
    if (!(await databaseExists(t, name))) throw new NotFoundError(`Database ${name} was not found on instance ${t.row.id}.`);
    await t.guest.delete_database({ database: { _name: name } }, t.quick);
    ctx.status = 202;
  });

  return router;
}
