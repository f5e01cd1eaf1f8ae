// /mgmt/datastores/versions/{version_id}/parameters: a version's configuration parameter rules,
// listed, shown, created, replaced and deleted by an administrator (Trove's
// extensions/mgmt/configuration). The same repository functions trove-manage's
// db_load_datastore_config_parameters uses.
import { authorizeAction } from '../../authorizer.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import { BadRequestError, NotFoundError } from '../../../common/errors.js';
import { deleteConfigParameter, getConfigParameter, listConfigParameters, loadConfigParameters, type ParameterRule } from '../../../db/datastores.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { parseBody } from '../../validate.js';
import { loadVersionById } from '../datastores/lookup.js';
import { parameterView } from '../datastores/views.js';
import { parameterBody } from './schemas.js';

/**
 * The body as a rule named `name` (PUT: the URL's name; POST: the body's); an integer needs both
 * bounds, max ≥ min (Trove's _validate_data_type).
 */
function ruleOf(body: unknown, name?: string): ParameterRule {
  const p = parseBody(parameterBody, body)['configuration-parameter'];
  const rule: ParameterRule = { name: name ?? p.name, restart_required: Boolean(p.restart_required), type: p.data_type };
  if (p.data_type === 'integer') {
    if (p.max_size === undefined) throw new BadRequestError('max_size is required for integer data type.');
    if (p.min_size === undefined) throw new BadRequestError('min_size is required for integer data type.');
    rule.max = Number(p.max_size);
    rule.min = Number(p.min_size);
    if (rule.max < rule.min) throw new BadRequestError('max_size must be greater than or equal to min_size.');
  }
  return rule;
}

export function mgmtParameterRoutes(deps: ApiDeps): Router {
  const { db } = deps;
  const router = new Router();
  const base = '/mgmt/datastores/versions/:version/parameters';
  const authorize = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), `mgmt_configuration_parameter:${action}`);
  const version = (ctx: Context) => loadVersionById(db, param(ctx, 'version'));

  router.get(base, async (ctx) => {
    authorize(ctx, 'index');
    const v = await version(ctx);
    ctx.body = { 'configuration-parameters': (await listConfigParameters(db, v.id)).map((p) => parameterView(p, true)) };
  });

  router.get(`${base}/:name`, async (ctx) => {
    authorize(ctx, 'show');
    const v = await version(ctx);
    const p = await getConfigParameter(db, v.id, param(ctx, 'name'));
    if (!p) throw NotFoundError.resource(param(ctx, 'name'));
    ctx.body = parameterView(p, true);
  });

  router.post(base, async (ctx) => {
    authorize(ctx, 'create');
    const v = await version(ctx);
    const rule = ruleOf(ctx.request.body);
    const name = rule.name;
    if (await getConfigParameter(db, v.id, name)) {
      throw new BadRequestError(`${name} parameter already exists for datastore version ${v.id}.`);
    }
    await loadConfigParameters(db, v.id, [rule]);
    ctx.status = 200;
    ctx.body = parameterView((await getConfigParameter(db, v.id, name))!, true);
  });

  router.put(`${base}/:name`, async (ctx) => {
    authorize(ctx, 'update');
    const v = await version(ctx);
    const name = param(ctx, 'name');
    const rule = ruleOf(ctx.request.body, name);
    if (!(await getConfigParameter(db, v.id, name))) throw NotFoundError.resource(name);
    await loadConfigParameters(db, v.id, [rule]);
    ctx.body = parameterView((await getConfigParameter(db, v.id, name))!, true);
  });

  router.delete(`${base}/:name`, async (ctx) => {
    authorize(ctx, 'delete');
    const v = await version(ctx);
    const name = param(ctx, 'name');
    if (!(await deleteConfigParameter(db, v.id, name))) {
      throw new BadRequestError(`Parameter ${name} does not exist in the database.`);
    }
    ctx.status = 204;
    ctx.body = null;
  });

  return router;
}
