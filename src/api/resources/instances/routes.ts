// /instances: list, detail, create, show, update, delete.
import { currentWarnings } from '../instance-metrics/warnings.js';
import { authorizeAction } from '../../authorizer.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import { BadRequestError, ForbiddenError, UnprocessableEntityError } from '../../../common/errors.js';
import { runningBackupOf } from '../../../db/backups.js';
import { Tasks } from '../../../common/instance-tasks.js';
import { replicasOf, updateInstance, parseAccess, type InstanceRecord } from '../../../db/instances.js';
import { listInstanceSummaries, listInstanceViews } from '../../../db/instance-views.js';
import { instanceService } from '../../instance-service/service.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { parseBody } from '../../validate.js';
import { nextLink, pageParams } from '../../pagination.js';
import { createInstance } from './create.js';
import { assertCanAct, assertCanDelete, DELETABLE } from './availability.js';
import { loadInstance, loadInstanceView, renderDetail, renderPage, renderSummaries } from './lookup.js';
import { instanceCreate, instanceUpdate } from './schemas.js';
import { instanceActionRoutes } from './actions.js';
import { attachConfiguration, detachConfiguration } from '../configurations/attach.js';
import { databaseRoutes } from './databases.js';
import { userRoutes } from './users.js';
import { rootRoutes } from './root.js';
import { logRoutes } from './logs.js';
import { upgradeInstance } from './upgrade.js';
import { announced, castWith, startNotice } from '../../dbaas-notice.js';

export function instanceRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const authorize = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), action);
  const instances = instanceService(deps);
  const ready = async (row: InstanceRecord) => assertCanAct(row, Boolean(await runningBackupOf(deps.db, row.id)));

  async function list(ctx: Context, detail: boolean) {
    authorize(ctx, detail ? 'instance:detail' : 'instance:index');
    const { limit, marker } = pageParams(ctx, deps.config.paginate_max_limit);
    const includeClustered = String(ctx.query.include_clustered ?? '').toLowerCase() === 'true';
    const query = { projectId: requestContext(ctx).projectId, limit, marker, includeClustered };
    // the list reads only the columns its summary view shows (half of the detail's, no fault)
    const [page, instances] = detail
      ? await listInstanceViews(deps.db, query).then((p) => [p, renderPage(ctx, deps, p.items, true)] as const)
      : await listInstanceSummaries(deps.db, query).then((p) => [p, renderSummaries(ctx, deps, p.items)] as const);
    ctx.body = {
      instances,
      ...(page.more ? { links: [nextLink(ctx, deps, page.items[page.items.length - 1]!.record.id)] } : {}),
    };
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
    const instance = renderPage(ctx, deps, [view], true)[0]!;
    // trove-ts: the alarms the latest engine metrics pass, only when there are some (the stock output is otherwise Trove's)
    const warnings = await currentWarnings(deps, view.record.id, view.latestMetrics);
    ctx.body = { instance: warnings.length ? { ...instance, ts_warnings: warnings.map((w) => w.message) } : instance };
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
      await ready(row);
      const current = parseAccess(row) ?? { is_public: false, allowed_cidrs: [] };
      const access = {
        is_public: body.access.is_public ?? current.is_public,
        allowed_cidrs: body.access.allowed_cidrs ?? current.allowed_cidrs,
      };
      // the rules are written with the task, and put back as they were if the cast fails
      await instances.act({
        what: 'update_access',
        projectId: row.tenant_id,
        members: [{ id: row.id }],
        task: Tasks.UPDATING,
        set: { access: JSON.stringify(access) },
        casts: [{ send: () => deps.taskmanager.update_access({ instance_id: row.id, access }) }],
        unreachable: () => 'The taskmanager could not be reached; the access was not changed.',
      });
    } else if (action === 'configuration') {
      if (body.configuration) await attachConfiguration(ctx, deps, row, body.configuration);
      else await detachConfiguration(deps, row);
    } else if (action === 'replica_of' || action === 'slave_of') {
      // Trove's detach_replica: an action like any other (422), only on a replica (400)
      await ready(row);
      if (!row.slave_of_id) throw new BadRequestError(`Instance ${row.id} is not a replica.`);
      await instances.act({
        what: 'detach_replica',
        projectId: row.tenant_id,
        members: [{ id: row.id }],
        task: Tasks.DETACHING,
        casts: [{ send: () => deps.taskmanager.detach_replica({ instance_id: row.id }) }],
        unreachable: () => 'The taskmanager could not be reached; the replica was not detached.',
      });
    } else if (action === 'datastore_version') {
      await upgradeInstance(ctx, deps, row, body.datastore_version!, ready);
    }
    ctx.status = 202;
  }
  router.put('/instances/:id', update);
  router.patch('/instances/:id', update);

  router.delete('/instances/:id', async (ctx) => {
    authorize(ctx, 'instance:delete');
    const row = await loadInstance(ctx, deps, param(ctx, 'id'));
    // asked again while DELETING: the cast is sent again, nothing else is checked
    if (row.task_id !== Tasks.DELETING.code) {
      assertCanDelete(row);
      if (await runningBackupOf(deps.db, row.id)) {
        throw new UnprocessableEntityError(`Instance ${row.id} is not ready to be deleted: a backup is running (Status is BACKUP).`);
      }
      if ((await replicasOf(deps.db, row.id)).length) throw new ForbiddenError('Detach replicas before deleting replica source.');
    }
    // not left DELETING (SHUTDOWN) for ever when the cast fails: the instance is as it was, and the delete can be asked again
    const notice = startNotice(deps, ctx, 'instance_delete', { instance_id: row.id });
    await announced(deps, notice, () =>
      instances.act({
        what: 'delete_instance',
        projectId: row.tenant_id,
        members: [{ id: row.id }],
        task: Tasks.DELETING,
        from: DELETABLE,
        refusal: 'delete',
        casts: [{ send: () => deps.taskmanager.delete_instance({ instance_id: row.id }, castWith(notice)) }],
        unreachable: () => 'The taskmanager could not be reached; the instance was not deleted.',
      }),
    );
    ctx.status = 202;
  });

  router.use(instanceActionRoutes(deps).routes());
  for (const sub of [databaseRoutes(deps), userRoutes(deps), rootRoutes(deps), logRoutes(deps)]) router.use(sub.routes());
  return router;
}
