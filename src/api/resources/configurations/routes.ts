// /configurations: list, create, show, instances, replace (PUT), merge (PATCH), delete; and
// GET /instances/{id}/configuration (the instance's effective configuration, from its guest).
import { authorizeAction, authorizeOnResource } from '../../authorizer.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import { BadRequestError, NotFoundError, UnprocessableEntityError } from '../../../common/errors.js';
import { Tasks, taskFromCode } from '../../../common/instance-tasks.js';
import {
  configurationValues,
  createConfiguration,
  deleteConfiguration,
  getConfiguration,
  instanceCount,
  instancesUsing,
  listConfigurations,
  saveValues,
  type ConfigValues,
  type ConfigurationRecord,
} from '../../../db/configurations.js';
import { listConfigParameters } from '../../../db/datastores.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { parseBody } from '../../validate.js';
import { nextLink, pageParams } from '../../pagination.js';
import { resolveForCreate } from '../datastores/lookup.js';
import { loadInstance } from '../instances/lookup.js';
import { refreshInstances } from './attach.js';
import { configurationCreate, configurationEdit, configurationUpdate } from './schemas.js';
import { checkValues } from './values.js';
import { attachedInstanceView, configurationDetailView, configurationView } from './views.js';

/** Trove's empty answer: no body, JSON-typed (not Koa's status text). */
function empty(ctx: Context, status: number): void {
  ctx.status = status;
  ctx.body = '';
  ctx.type = 'application/json';
}

export function configurationRoutes(deps: ApiDeps): Router {
  const { db } = deps;
  const router = new Router();
  const authorize = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), action);
  /** Admins see every project's groups (Trove's Configuration.load). */
  const scope = (ctx: Context) => (requestContext(ctx).isAdmin ? undefined : requestContext(ctx).projectId);

  async function load(ctx: Context): Promise<ConfigurationRecord> {
    const id = param(ctx, 'id');
    const group = await getConfiguration(db, id, scope(ctx));
    if (!group) throw new NotFoundError(`Configuration group with ID ${id} could not be found.`);
    authorizeOnResource(ctx, deps.authorizer, requestContext(ctx), group.tenant_id);
    return group;
  }

  async function check(
    group: Pick<ConfigurationRecord, 'datastore_version_id' | 'datastore_name' | 'datastore_version_name'>,
    values: Record<string, unknown>,
  ) {
    const rules = await listConfigParameters(db, group.datastore_version_id);
    return checkValues(values, rules, { datastore: group.datastore_name, version: group.datastore_version_name });
  }

  /** Which keys a save changes (new or other value) and drops (a replace without them). */
  async function changeOf(group: ConfigurationRecord, values: ConfigValues, replace: boolean) {
    const before = await configurationValues(db, group.id, group.datastore_version_id);
    const changed = Object.keys(values).filter((k) => before[k] !== values[k]);
    const dropped = replace ? Object.keys(before).filter((k) => !(k in values)) : [];
    return { changed, dropped };
  }

  async function detail(ctx: Context, group: ConfigurationRecord) {
    const values = await configurationValues(db, group.id, group.datastore_version_id);
    return { configuration: configurationDetailView(group, values, await instanceCount(db, group.id, requestContext(ctx).projectId)) };
  }

  router.get('/configurations', async (ctx) => {
    authorize(ctx, 'configuration:index');
    const { limit, marker } = pageParams(ctx, deps.config.paginate_max_limit);
    const page = await listConfigurations(db, { projectId: scope(ctx), limit, marker });
    ctx.body = {
      configurations: page.items.map(configurationView),
      ...(page.more ? { links: [nextLink(ctx, deps, page.items[page.items.length - 1]!.id)] } : {}),
    };
  });

  router.post('/configurations', async (ctx) => {
    authorize(ctx, 'configuration:create');
    const body = parseBody(configurationCreate, ctx.request.body).configuration;
    const ds = body.datastore ?? {};
    const { datastore, version } = await resolveForCreate(db, { type: ds.type, version: ds.version ?? ds.version_number }, deps.config.default_datastore);
    const label = { datastore_version_id: version.id, datastore_name: datastore.name, datastore_version_name: version.name };
    const values = Object.keys(body.values).length ? await check(label, body.values) : {};
    const id = await createConfiguration(
      db,
      { name: body.name, description: body.description ?? null, tenantId: requestContext(ctx).projectId, datastoreVersionId: version.id },
      values,
    );
    deps.log.info({ configuration_id: id, keys: Object.keys(values) }, 'configuration group created');
    ctx.status = 200;
    ctx.body = await detail(ctx, (await getConfiguration(db, id))!);
  });

  router.get('/configurations/:id', async (ctx) => {
    authorize(ctx, 'configuration:show');
    ctx.body = await detail(ctx, await load(ctx));
  });

  router.get('/configurations/:id/instances', async (ctx) => {
    authorize(ctx, 'configuration:instances');
    const group = await load(ctx);
    const { limit, marker } = pageParams(ctx, deps.config.paginate_max_limit);
    const page = await instancesUsing(db, group.id, { projectId: scope(ctx), limit, marker });
    ctx.body = {
      instances: page.items.map(attachedInstanceView),
      ...(page.more ? { links: [nextLink(ctx, deps, page.items[page.items.length - 1]!.id)] } : {}),
    };
  });

  router.put('/configurations/:id', async (ctx) => {
    authorize(ctx, 'configuration:update');
    const group = await load(ctx);
    const body = parseBody(configurationUpdate, ctx.request.body).configuration;
    const values = await check(group, body.values ?? {});
    const change = await changeOf(group, values, true);
    await saveValues(db, group.id, values, { replace: true, name: body.name, description: body.description });
    await refreshInstances(deps, deps.log, group.id, change);
    empty(ctx, 202);
  });

  router.patch('/configurations/:id', async (ctx) => {
    authorize(ctx, 'configuration:edit');
    const group = await load(ctx);
    const body = parseBody(configurationEdit, ctx.request.body).configuration;
    const values = await check(group, body.values);
    const change = await changeOf(group, values, false);
    await saveValues(db, group.id, values, { replace: false });
    await refreshInstances(deps, deps.log, group.id, change);
    empty(ctx, 200);
  });

  router.delete('/configurations/:id', async (ctx) => {
    authorize(ctx, 'configuration:delete');
    const group = await load(ctx);
    if ((await instanceCount(db, group.id)) > 0) {
      throw new BadRequestError(
        'A configuration group cannot be deleted if it is associated with one or more non-terminated instances. ' +
          'Detach the configuration group from all non-terminated instances and please try again.',
      );
    }
    await deleteConfiguration(db, group.id);
    empty(ctx, 202);
  });

  // The engine's effective settings, as its guest renders them (Trove renders its template in the
  // API; here the guest owns the engine's configuration): memory settings and the group's values.
  router.get('/instances/:id/configuration', async (ctx) => {
    const row = await loadInstance(ctx, deps, param(ctx, 'id'));
    authorize(ctx, 'instance:configuration');
    if (row.task_id === Tasks.BUILDING.code || row.task_id === Tasks.DELETING.code || !row.compute_instance_id) {
      throw new UnprocessableEntityError(`Instance ${row.id} is not ready, task: ${taskFromCode(row.task_id).action}.`);
    }
    const settings = await deps.guest(row.id, row.encrypted_key).get_configuration({}, { timeoutMs: deps.config.agent_call_low_timeout * 1000 });
    ctx.body = { instance: { configuration: settings } };
  });

  return router;
}
