// /backups: create (the taskmanager has the guest stream it to the object store), list (newest
// first, offset markers), show, delete; and /instances/{id}/backups.
import { authorizeAction, authorizeOnResource } from '../../authorizer.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import { randomUUID } from 'node:crypto';
import { BadRequestError, NotFoundError, NotImplementedError, ServiceUnavailableError, UnprocessableEntityError } from '../../../common/errors.js';
import {
  childBackups,
  containerFor,
  getBackup,
  lastCompletedBackup,
  listBackups,
  markBackupDeleted,
  newBackupInfo,
  reserveBackup,
  RUNNING_BACKUP_STATES,
  setBackupState,
  type BackupRecord,
} from '../../../db/backups.js';
import { changeUsage, quotaLimits } from '../../../db/quotas.js';
import { getVersionById } from '../../../db/datastores.js';
import { param, requestContext, tokenInfo, type ApiDeps } from '../../deps.js';
import { parseBody } from '../../validate.js';
import { assertCanAct } from '../instances/availability.js';
import { loadInstance, viewInputs } from '../instances/lookup.js';
import { backupCreate } from './schemas.js';
import { backupView } from './views.js';

export function backupRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const authorize = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), action);

  function offsetParams(ctx: Context): { limit: number; offset: number } {
    const n = (v: unknown, name: string, dflt: number) => {
      if (v === undefined || v === '') return dflt;
      const x = Number(v);
      if (!Number.isSafeInteger(x) || x < 0) throw new BadRequestError(`${name} must be a non-negative integer, got '${String(v)}'.`);
      return x;
    };
    return { limit: Math.max(1, n(ctx.query.limit, 'limit', deps.config.backups_page_size)), offset: n(ctx.query.marker, 'marker', 0) };
  }

  function page(ctx: Context, items: BackupRecord[], more: boolean, offset: number) {
    const links = [];
    if (more) {
      const url = new URL(`${deps.config.links_scheme}://${ctx.host}${ctx.path}`);
      for (const [k, v] of Object.entries(ctx.query)) if (k !== 'marker' && typeof v === 'string') url.searchParams.set(k, v);
      url.searchParams.set('marker', String(offset + items.length));
      links.push({ rel: 'next', href: url.toString() });
    }
    ctx.body = { backups: items.map(backupView), ...(links.length ? { links } : {}) };
  }

  router.get('/backups', async (ctx) => {
    authorize(ctx, 'backup:index');
    const context = requestContext(ctx);
    const allProjects = String(ctx.query.all_projects ?? '').toLowerCase() === 'true';
    const projectParam = typeof ctx.query.project_id === 'string' && ctx.query.project_id ? ctx.query.project_id : undefined;
    if (allProjects || (projectParam && projectParam !== context.projectId)) authorize(ctx, 'backup:index:all_projects');
    const { limit, offset } = offsetParams(ctx);
    const r = await listBackups(deps.db, {
      projectId: allProjects && !projectParam ? undefined : (projectParam ?? context.projectId),
      instanceId: typeof ctx.query.instance_id === 'string' && ctx.query.instance_id ? ctx.query.instance_id : undefined,
      datastore: typeof ctx.query.datastore === 'string' && ctx.query.datastore ? ctx.query.datastore : undefined,
      limit,
      offset,
    });
    page(ctx, r.items, r.more, offset);
  });

  router.get('/instances/:id/backups', async (ctx) => {
    authorize(ctx, 'instance:backups');
    const row = await loadInstance(ctx, deps, param(ctx, 'id'));
    const { limit, offset } = offsetParams(ctx);
    const r = await listBackups(deps.db, { projectId: row.tenant_id, instanceId: row.id, limit, offset });
    page(ctx, r.items, r.more, offset);
  });

  const load = async (ctx: Context, id: string): Promise<BackupRecord> => {
    const context = requestContext(ctx);
    const b = await getBackup(deps.db, id, context.isAdmin ? undefined : context.projectId);
    if (!b) throw new NotFoundError(`Backup ${id} cannot be found.`);
    authorizeOnResource(ctx, deps.authorizer, context, b.tenant_id);
    return b;
  };

  router.get('/backups/:id', async (ctx) => {
    authorize(ctx, 'backup:show');
    ctx.body = { backup: backupView(await load(ctx, param(ctx, 'id'))) };
  });

  router.post('/backups', async (ctx) => {
    authorize(ctx, 'backup:create');
    const body = parseBody(backupCreate, ctx.request.body).backup;
    const context = requestContext(ctx);
    if (body.restore_from) throw new NotImplementedError('Registering a backup from a remote location (restore_from) is not supported.');
    if (body.storage_driver && body.storage_driver !== 'swift')
      throw new BadRequestError(`Storage driver '${body.storage_driver}' is not supported; use swift.`);
    if (!body.instance) throw new BadRequestError("Validation error: backup 'instance' is a required property");
    const instance = await loadInstance(ctx, deps, body.instance);
    assertCanAct(instance, (await viewInputs(deps, instance)).backupRunning);
    const version = await getVersionById(deps.db, instance.datastore_version_id);
    if (!version) throw new UnprocessableEntityError(`Instance ${instance.id} has no datastore version.`);

    // an incremental backup: on the named parent, or (incremental: 1) on the instance's newest
    // COMPLETED backup; with none yet, a full backup (as Trove does)
    let parent: BackupRecord | undefined;
    if (body.parent_id) {
      parent = await getBackup(deps.db, body.parent_id, context.projectId);
      if (!parent) throw new NotFoundError(`Backup ${body.parent_id} cannot be found.`);
      if (parent.instance_id !== instance.id)
        throw new BadRequestError(`Backup ${parent.id} is a backup of another instance; an incremental backup builds on a backup of the same instance.`);
      if (parent.state !== 'COMPLETED') throw new UnprocessableEntityError(`Backup ${parent.id} is ${parent.state}; only a COMPLETED backup can be a parent.`);
    } else if (body.incremental === 1 || body.incremental === true) {
      parent = await lastCompletedBackup(deps.db, instance.id);
    }
    if (parent && !parent.location) throw new UnprocessableEntityError(`Backup ${parent.id} has no stored location; it cannot be a parent.`);

    const storage = await deps.backupStorage(context, tokenInfo(ctx));
    const container = body.swift_container ?? (await containerFor(deps.db, context.projectId, instance.id, deps.config.backup_swift_container));
    const limits = await quotaLimits(deps.db, context.projectId, deps.quotaDefaults);
    const record = {
      id: randomUUID(),
      name: body.name,
      description: body.description ?? null,
      tenantId: context.projectId,
      instanceId: instance.id,
      parentId: parent?.id ?? null,
      datastoreVersionId: version.id,
      storageDriver: storage.driver,
      backupType: parent ? 'incremental' : 'full',
    };
    const id = record.id;
    await reserveBackup(deps.db, record, limits);
    // the answer shows the backup as created (NEW), whatever the taskmanager has done by then
    const created = (await getBackup(deps.db, id))!;
    try {
      await deps.taskmanager.create_backup({
        instance_id: instance.id,
        storage,
        backup_info: newBackupInfo(record, version, container, parent ? { location: parent.location!, checksum: parent.checksum } : null),
      });
    } catch (err) {
      await setBackupState(deps.db, id, 'FAILED');
      await changeUsage(deps.db, context.projectId, { backups: -1 }, limits);
      deps.log.error({ backup_id: id, err: (err as Error).message }, 'could not cast create_backup');
      throw new ServiceUnavailableError('The taskmanager could not be reached; the backup was not started.');
    }
    ctx.status = 202;
    ctx.body = { backup: backupView(created) };
  });

  router.delete('/backups/:id', async (ctx) => {
    authorize(ctx, 'backup:delete');
    const b = await load(ctx, param(ctx, 'id'));
    const context = requestContext(ctx);
    if ((RUNNING_BACKUP_STATES as readonly string[]).includes(b.state)) {
      throw new UnprocessableEntityError(`Backup ${b.id} cannot be deleted while it is ${b.state}.`);
    }
    const children = await childBackups(deps.db, b.id);
    if (children.length) {
      throw new BadRequestError(`Backup ${b.id} has incremental backups built on it (${children.map((c) => c.id).join(', ')}); delete those first.`);
    }
    const limits = await quotaLimits(deps.db, b.tenant_id, deps.quotaDefaults);
    if (!b.location) {
      // nothing was stored (a failed backup): no object to remove
      await markBackupDeleted(deps.db, b.id);
      await changeUsage(deps.db, b.tenant_id, { backups: -1 }, limits);
      ctx.status = 202;
      return;
    }
    const storage = await deps.backupStorage(context, tokenInfo(ctx));
    try {
      await deps.taskmanager.delete_backup({ backup_id: b.id, storage });
    } catch (err) {
      deps.log.error({ backup_id: b.id, err: (err as Error).message }, 'could not cast delete_backup');
      throw new ServiceUnavailableError('The taskmanager could not be reached; the backup was not deleted.');
    }
    ctx.status = 202;
  });

  return router;
}
