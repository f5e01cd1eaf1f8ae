// /backup_strategies: the container a project's (or one instance's) backups go to.
import { authorizeAction } from '../../authorizer.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import { NotFoundError } from '../../../common/errors.js';
import { deleteStrategy, listStrategies, upsertStrategy, type BackupStrategy } from '../../../db/backups.js';
import { requestContext, type ApiDeps } from '../../deps.js';
import { parseBody } from '../../validate.js';
import { loadInstance } from '../instances/lookup.js';
import { strategyCreate } from '../backups/schemas.js';

const view = (s: BackupStrategy) => ({ project_id: s.tenant_id, instance_id: s.instance_id, backend: s.backend, swift_container: s.swift_container });

export function backupStrategyRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const authorize = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), action);
  /** ?project_id= naming another project needs admin (as Trove: 403 otherwise). */
  const projectOf = (ctx: Context, action: string): string => {
    const context = requestContext(ctx);
    const p = typeof ctx.query.project_id === 'string' && ctx.query.project_id ? ctx.query.project_id : context.projectId;
    if (p !== context.projectId) authorize(ctx, 'backup:index:all_projects');
    authorize(ctx, action);
    return p;
  };
  const instanceParam = (ctx: Context) => (typeof ctx.query.instance_id === 'string' ? ctx.query.instance_id : undefined);

  router.get('/backup_strategies', async (ctx) => {
    const project = projectOf(ctx, 'backup_strategy:index');
    ctx.body = { backup_strategies: (await listStrategies(deps.db, project, instanceParam(ctx))).map(view) };
  });

  router.post('/backup_strategies', async (ctx) => {
    authorize(ctx, 'backup_strategy:create');
    const body = parseBody(strategyCreate, ctx.request.body).backup_strategy;
    const project = requestContext(ctx).projectId;
    if (body.instance_id) await loadInstance(ctx, deps, body.instance_id);
    const s = await upsertStrategy(deps.db, {
      id: crypto.randomUUID(),
      tenant_id: project,
      instance_id: body.instance_id ?? '',
      backend: 'swift',
      swift_container: body.swift_container,
    });
    ctx.status = 202;
    ctx.body = { backup_strategy: view(s) };
  });

  router.delete('/backup_strategies', async (ctx) => {
    const project = projectOf(ctx, 'backup_strategy:delete');
    const n = await deleteStrategy(deps.db, project, instanceParam(ctx) ?? '');
    if (!n) throw new NotFoundError('No backup strategy matches.');
    ctx.status = 202;
  });

  return router;
}
