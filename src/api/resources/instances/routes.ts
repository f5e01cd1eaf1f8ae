// /instances: list, detail, create, show, update, delete.
import { authorizeAction } from '../../authorizer.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import { BadRequestError, ForbiddenError, NotImplementedError, ServiceUnavailableError, UnprocessableEntityError } from '../../../common/errors.js';
import { runningBackupOf } from '../../../db/backups.js';
import { Tasks, taskFromCode } from '../../../common/instance-tasks.js';
import { setTask, updateInstance, parseAccess } from '../../../db/instances.js';
import { listInstanceViews } from '../../../db/instance-views.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { parseBody } from '../../validate.js';
import { nextLink, pageParams } from '../../pagination.js';
import { createInstance } from './create.js';
import { assertCanAct, assertCanDelete, DELETABLE } from './availability.js';
import { taskStatus } from './status.js';
import { loadInstance, loadInstanceView, renderDetail, renderPage, viewInputs } from './lookup.js';
import { instanceCreate, instanceUpdate } from './schemas.js';
import { instanceActionRoutes } from './actions.js';
import { attachConfiguration, detachConfiguration } from '../configurations/attach.js';
import { databaseRoutes } from './databases.js';
import { userRoutes } from './users.js';
import { rootRoutes } from './root.js';
import { logRoutes } from './logs.js';

export function instanceRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const authorize = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), action);

  async function list(ctx: Context, detail: boolean) {
    authorize(ctx, detail ? 'instance:detail' : 'instance:index');
    const { limit, marker } = pageParams(ctx, deps.config.paginate_max_limit);
    const includeClustered = String(ctx.query.include_clustered ?? '').toLowerCase() === 'true';
    const page = await listInstanceViews(deps.db, { projectId: requestContext(ctx).projectId, limit, marker, includeClustered });
    const instances = renderPage(ctx, deps, page.items, detail);
    ctx.body = { instances, ...(page.more ? { links: [nextLink(ctx, deps, page.items[page.items.length - 1]!.record.id)] } : {}) };
  }

  router.get('/instances', (ctx) => list(ctx, false));
  router.get('/instances/detail', (ctx) => list(ctx, true));

  router.post('/instances', async (ctx) => {
    authorize(ctx, 'instance:create');
    const body = parseBody(instanceCreate, ctx.request.body).instance;
    const row = await createInstance(ctx, deps, body);
    ctx.status = 200;
    ctx.body = { instance: await renderDetail(ctx, deps, row) };
  });

  router.get('/instances/:id', async (ctx) => {
    authorize(ctx, 'instance:show');
    const view = await loadInstanceView(ctx, deps, param(ctx, 'id'));
    ctx.body = { instance: renderPage(ctx, deps, [view], true)[0] };
  });

  async function update(ctx: Context) {
    authorize(ctx, ctx.method === 'PATCH' ? 'instance:edit' : 'instance:update');
    const row = await loadInstance(ctx, deps, param(ctx, 'id'));
    const body = parseBody(instanceUpdate, ctx.request.body).instance;
    const { name, ...rest } = body;
    const actions = Object.keys(rest);
    if (actions.length > 1) throw new BadRequestError(`Only one of ${actions.join(', ')} can be changed at a time.`);
    if (name !== undefined) await updateInstance(deps.db, row.id, { name });
    const action = actions[0];
    if (action === 'access' && body.access) {
      assertCanAct(row, (await viewInputs(deps, row)).backupRunning);
      const current = parseAccess(row) ?? { is_public: false, allowed_cidrs: [] };
      const access = {
        is_public: body.access.is_public ?? current.is_public,
        allowed_cidrs: body.access.allowed_cidrs ?? current.allowed_cidrs,
      };
      const previous = row.task_id === Tasks.RESTART_REQUIRED.code ? Tasks.RESTART_REQUIRED : Tasks.NONE;
      if (!(await setTask(deps.db, row.id, Tasks.UPDATING, [Tasks.NONE, Tasks.RESTART_REQUIRED], { access: JSON.stringify(access) }))) {
        assertCanAct({ ...row, task_id: Tasks.UPDATING.code }, false); // another action took it meanwhile: Trove's 422
      }
      try {
        await deps.taskmanager.update_access({ instance_id: row.id, access });
      } catch (err) {
        // not left UPDATING for ever: the access rules stay as they were
        await setTask(deps.db, row.id, previous, [Tasks.UPDATING], { access: row.access ?? null });
        deps.log.error({ instance_id: row.id, err: (err as Error).message }, 'could not cast update_access');
        throw new ServiceUnavailableError('The taskmanager could not be reached; the access was not changed.');
      }
    } else if (action === 'configuration') {
      if (body.configuration) await attachConfiguration(ctx, deps, row, body.configuration);
      else await detachConfiguration(deps, row);
    } else if (action === 'replica_of' || action === 'slave_of') {
      // Trove's detach_replica: an action like any other (422), only on a replica (400)
      assertCanAct(row, (await viewInputs(deps, row)).backupRunning);
      if (!row.slave_of_id) throw new BadRequestError(`Instance ${row.id} is not a replica.`);
      if (!(await setTask(deps.db, row.id, Tasks.DETACHING, [Tasks.NONE, Tasks.RESTART_REQUIRED]))) {
        assertCanAct({ ...row, task_id: Tasks.UPDATING.code }, false);
      }
      try {
        await deps.taskmanager.detach_replica({ instance_id: row.id });
      } catch (err) {
        // not left DETACHING for ever: the replica stays as it was
        await setTask(deps.db, row.id, Tasks.NONE, [Tasks.DETACHING]);
        deps.log.error({ instance_id: row.id, err: (err as Error).message }, 'could not cast detach_replica');
        throw new ServiceUnavailableError('The taskmanager could not be reached; the replica was not detached.');
      }
    } else if (action === 'datastore_version') {
      throw new NotImplementedError('Datastore version upgrades are not supported yet by this deployment.');
    }
    ctx.status = 202;
  }
  router.put('/instances/:id', update);
  router.patch('/instances/:id', update);

  router.delete('/instances/:id', async (ctx) => {
    authorize(ctx, 'instance:delete');
    const row = await loadInstance(ctx, deps, param(ctx, 'id'));
    const previous = taskFromCode(row.task_id);
    if (previous.code !== Tasks.DELETING.code) {
      assertCanDelete(row);
      if (await runningBackupOf(deps.db, row.id)) {
        throw new UnprocessableEntityError(`Instance ${row.id} is not ready to be deleted: a backup is running (Status is BACKUP).`);
      }
      const replicas = await deps.db('instances').where({ slave_of_id: row.id, deleted: false }).first('id');
      if (replicas) throw new ForbiddenError('Detach replicas before deleting replica source.');
      // compare-and-set: an action that took the instance meanwhile makes this a 422, not a lost delete
      if (!(await setTask(deps.db, row.id, Tasks.DELETING, [...DELETABLE]))) {
        const now = await loadInstance(ctx, deps, row.id);
        assertCanDelete(now);
        throw new UnprocessableEntityError(`Instance ${row.id} is not ready. (Status is ${taskStatus(now)}).`);
      }
    }
    try {
      await deps.taskmanager.delete_instance({ instance_id: row.id });
    } catch (err) {
      // not left DELETING (SHUTDOWN) for ever: the instance is as it was, and the delete can be asked again
      if (previous.code !== Tasks.DELETING.code) await setTask(deps.db, row.id, previous, [Tasks.DELETING]);
      deps.log.error({ instance_id: row.id, err: (err as Error).message }, 'could not cast delete_instance');
      throw new ServiceUnavailableError('The taskmanager could not be reached; the instance was not deleted.');
    }
    ctx.status = 202;
  });

  router.use(instanceActionRoutes(deps).routes());
  for (const sub of [databaseRoutes(deps), userRoutes(deps), rootRoutes(deps), logRoutes(deps)]) router.use(sub.routes());
  return router;
}
