// trove-ts extension: /ts/instances/{id}/backup_schedules (list, create, show, update, delete).
// A schedule is a cron expression and a retention count; the taskmanager runs it. With the
// user's Swift, creating a schedule makes a Keystone trust from the caller to the service user
// (sealed in the row) and deleting it removes the trust; the local store needs none.
import { authorizeAction } from '../../authorizer.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import { randomUUID } from 'node:crypto';
import { BadRequestError, NotFoundError, ValidationError } from '../../../common/errors.js';
import { CronError, nextRun, validateCron } from '../../../common/cron-schedule.js';
import { getInstance, type InstanceRecord } from '../../../db/instances.js';
import {
  countSchedules,
  getSchedule,
  insertSchedule,
  listSchedules,
  markScheduleDeleted,
  updateSchedule,
  type BackupScheduleRecord,
  type SchedulePatch,
} from '../../../db/backup-schedules.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { delegateStorage, dropNewTrust, removeTrust } from '../../storage-trust.js';
import { parseBody } from '../../validate.js';
import { scheduleCreate, scheduleUpdate } from './schemas.js';
import { scheduleView } from './views.js';

/** Schedules one instance may have. */
export const MAX_SCHEDULES_PER_INSTANCE = 10;

function checkedCron(expr: string): string {
  try {
    return validateCron(expr);
  } catch (err) {
    if (err instanceof CronError) throw new ValidationError(`backup_schedule['cron'] ${JSON.stringify(expr)}: ${err.message}`);
    throw err;
  }
}

export function backupScheduleRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const base = '/ts/instances/:instance_id/backup_schedules';
  const authorize = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), action);

  /** The instance of the URL's project (an admin too: schedules belong to the instance's project). */
  const instanceOf = async (ctx: Context): Promise<InstanceRecord> => {
    const id = param(ctx, 'instance_id');
    const row = await getInstance(deps.db, id, requestContext(ctx).projectId);
    if (!row) throw NotFoundError.resource(id);
    return row;
  };
  const scheduleOf = async (ctx: Context, instance: InstanceRecord): Promise<BackupScheduleRecord> => {
    const id = param(ctx, 'id');
    const s = await getSchedule(deps.db, id, instance.id);
    if (!s || s.tenant_id !== instance.tenant_id) throw new NotFoundError(`Backup schedule ${id} cannot be found.`);
    return s;
  };

  router.get(base, async (ctx) => {
    authorize(ctx, 'backup_schedule:index');
    const instance = await instanceOf(ctx);
    ctx.body = { backup_schedules: (await listSchedules(deps.db, instance.tenant_id, instance.id)).map(scheduleView) };
  });

  router.post(base, async (ctx) => {
    authorize(ctx, 'backup_schedule:create');
    const body = parseBody(scheduleCreate, ctx.request.body).backup_schedule;
    const cron = checkedCron(body.cron);
    const instance = await instanceOf(ctx);
    if ((await countSchedules(deps.db, instance.id)) >= MAX_SCHEDULES_PER_INSTANCE) {
      throw new BadRequestError(`Instance ${instance.id} already has ${MAX_SCHEDULES_PER_INSTANCE} backup schedules (the most it may have); delete one first.`);
    }
    const delegated = await delegateStorage(ctx, deps, 'scheduled backups');
    const now = new Date();
    const enabled = body.enabled ?? true;
    const id = randomUUID();
    try {
      await insertSchedule(
        deps.db,
        {
          id,
          tenant_id: instance.tenant_id,
          instance_id: instance.id,
          name: body.name,
          cron,
          retention: body.retention,
          enabled,
          next_run_at: enabled ? nextRun(cron, now) : null,
          storage_driver: delegated.storage_driver,
          user_id: delegated.user_id,
          sealed_credential: delegated.sealed_credential,
        },
        now,
      );
    } catch (err) {
      await dropNewTrust(ctx, deps, delegated);
      throw err;
    }
    deps.log.info({ schedule_id: id, instance_id: instance.id, trust_id: delegated.trustId }, 'backup schedule created');
    ctx.status = 202;
    ctx.body = { backup_schedule: scheduleView((await getSchedule(deps.db, id))!) };
  });

  router.get(`${base}/:id`, async (ctx) => {
    authorize(ctx, 'backup_schedule:show');
    ctx.body = { backup_schedule: scheduleView(await scheduleOf(ctx, await instanceOf(ctx))) };
  });

  router.patch(`${base}/:id`, async (ctx) => {
    authorize(ctx, 'backup_schedule:update');
    const body = parseBody(scheduleUpdate, ctx.request.body).backup_schedule;
    if (body.cron === undefined && body.retention === undefined && body.enabled === undefined) {
      throw new ValidationError("backup_schedule: give at least one of 'cron', 'retention', 'enabled'");
    }
    const cron = body.cron === undefined ? undefined : checkedCron(body.cron);
    const s = await scheduleOf(ctx, await instanceOf(ctx));
    const patch: SchedulePatch = {};
    if (cron !== undefined) patch.cron = cron;
    if (body.retention !== undefined) patch.retention = body.retention;
    if (body.enabled !== undefined) patch.enabled = body.enabled;
    const enabled = body.enabled ?? s.enabled;
    // a new cron, or a schedule switched back on, counts from now (no burst of missed runs)
    if (!enabled) patch.next_run_at = null;
    else if (cron !== undefined || !s.enabled) patch.next_run_at = nextRun(cron ?? s.cron, new Date());
    if (body.enabled === true && !s.enabled) patch.last_error = null;
    await updateSchedule(deps.db, s.id, patch);
    ctx.body = { backup_schedule: scheduleView((await getSchedule(deps.db, s.id))!) };
  });

  router.delete(`${base}/:id`, async (ctx) => {
    authorize(ctx, 'backup_schedule:delete');
    const s = await scheduleOf(ctx, await instanceOf(ctx));
    if (s.sealed_credential) {
      const trust_id = await removeTrust(ctx, deps, s.sealed_credential, 'schedule');
      deps.log.info({ schedule_id: s.id, trust_id }, 'backup schedule trust deleted');
    }
    await markScheduleDeleted(deps.db, s.id);
    ctx.status = 202;
  });

  return router;
}
