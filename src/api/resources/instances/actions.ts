// POST /instances/{id}/action (restart, resize, reset_status, ...) and the admin-only
// POST /mgmt/instances/{id}/action (stop, start, reboot, reset-task-status).
import Router from '@koa/router';
import type { Context } from 'koa';
import { BadRequestError, NotImplementedError, OverLimitError, QuotaExceededError, ServiceUnavailableError, UnprocessableEntityError } from '../../../common/errors.js';
import { Tasks } from '../../../common/instance-tasks.js';
import { ServiceStatuses } from '../../../common/service-status.js';
import { getInstance, setServiceStatus, setTask, type InstanceRecord } from '../../../db/instances.js';
import { changeUsage, quotaLimits } from '../../../db/quotas.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { parseBody } from '../../validate.js';
import { assertCanAct } from './availability.js';
import { findFlavor } from './create.js';
import { loadInstance, viewInputs } from './lookup.js';
import { instanceAction, mgmtInstanceAction } from './schemas.js';

const ACTIONABLE = [Tasks.NONE, Tasks.RESTART_REQUIRED];

export function instanceActionRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const authorize = (ctx: Context, action: string) => deps.authorizer.authorize(action, requestContext(ctx));

  async function ready(row: InstanceRecord): Promise<void> {
    assertCanAct(row, (await viewInputs(deps, row)).backupRunning);
  }

  /** Takes the task with compare-and-set so two actions can never start together. */
  async function take(row: InstanceRecord, task: (typeof Tasks)[keyof typeof Tasks]): Promise<void> {
    if (!(await setTask(deps.db, row.id, task, ACTIONABLE))) {
      await ready({ ...row, task_id: Tasks.UPDATING.code }); // raises the 422 with Trove's wording
    }
  }

  async function resizeFlavor(ctx: Context, row: InstanceRecord, flavorRef: string) {
    authorize(ctx, 'instance:resize_flavor');
    await ready(row);
    const flavor = await findFlavor(ctx, deps, flavorRef);
    if (flavor.id === row.flavor_id) {
      throw new BadRequestError(`The new flavor id must be different than the current flavor id of '${row.flavor_id}'.`);
    }
    const old = await findFlavor(ctx, deps, row.flavor_id).catch(() => undefined);
    const delta = flavor.ram - (old?.ram ?? 0);
    if (delta > 0) {
      const limits = await quotaLimits(deps.db, row.tenant_id, deps.quotaDefaults);
      const over = await changeUsage(deps.db, row.tenant_id, { ram: delta }, limits);
      if (over.length) throw new QuotaExceededError(over);
    }
    await take(row, Tasks.RESIZING);
    await deps.taskmanager.resize_flavor({ instance_id: row.id, old_flavor_id: row.flavor_id, new_flavor_id: flavor.id });
  }

  async function resizeVolume(ctx: Context, row: InstanceRecord, size: number) {
    authorize(ctx, 'instance:resize_volume');
    if (!deps.config.trove_volume_support || row.volume_size === null) {
      throw new NotImplementedError('Volume support is not enabled.');
    }
    await ready(row);
    if (size <= row.volume_size) {
      throw new BadRequestError(`The new volume 'size' must be larger than the current volume size of '${row.volume_size}'.`);
    }
    const max = deps.config.max_accepted_volume_size;
    if (size > max) throw new OverLimitError(`Volume 'size' cannot exceed maximum of ${max} GB, ${size} cannot be accommodated.`);
    const limits = await quotaLimits(deps.db, row.tenant_id, deps.quotaDefaults);
    const over = await changeUsage(deps.db, row.tenant_id, { volumes: size - row.volume_size! }, limits);
    if (over.length) throw new QuotaExceededError(over);
    await take(row, Tasks.RESIZING);
    await deps.taskmanager.resize_volume({ instance_id: row.id, new_size: size });
  }

  async function resetStatus(ctx: Context, row: InstanceRecord, forceDelete: boolean) {
    authorize(ctx, forceDelete ? 'instance:force_delete' : 'instance:reset_status');
    await setTask(deps.db, row.id, Tasks.NONE, undefined, { flow_state: null, flow_owner: null, flow_lease_until: null });
    await setServiceStatus(deps.db, row.id, ServiceStatuses.UNKNOWN);
    await deps.db('backups')
      .where({ instance_id: row.id, deleted: false })
      .whereIn('state', ['NEW', 'BUILDING', 'SAVING'])
      .update({ state: 'FAILED', updated: new Date() });
  }

  /**
   * Moves every member of a replica set to `task` (compare-and-set: each must be free); none moved
   * and Trove's 422 when one is busy. Returns a release that gives them all back.
   */
  async function takeSet(members: string[], task: (typeof Tasks)[keyof typeof Tasks]): Promise<() => Promise<void>> {
    const taken: string[] = [];
    const release = async () => {
      for (const id of taken) await setTask(deps.db, id, Tasks.NONE, [task]);
    };
    for (const id of members) {
      if (await setTask(deps.db, id, task, ACTIONABLE)) {
        taken.push(id);
        continue;
      }
      await release();
      const busy = await getInstance(deps.db, id);
      if (busy) await ready(busy); // Trove's 422 with that member's state
      throw new UnprocessableEntityError(`Instance ${id} of the replica set is not currently available for an action to be performed.`);
    }
    return release;
  }

  async function cast(release: () => Promise<void>, what: string, send: () => Promise<unknown>): Promise<void> {
    try {
      await send();
    } catch (err) {
      await release();
      deps.log.error({ err: (err as Error).message }, `could not cast ${what}`);
      throw new ServiceUnavailableError(`The taskmanager could not be reached; nothing was changed (${what}).`);
    }
  }

  /** Trove's promote_to_replica_source (switchover): a replica that accepts an action; every member of its set PROMOTING. */
  async function promote(ctx: Context, row: InstanceRecord) {
    authorize(ctx, 'instance:promote_to_replica_source');
    await ready(row);
    if (!row.slave_of_id) throw new BadRequestError(`Instance ${row.id} is not a replica.`);
    const replicas = await deps.db('instances').where({ slave_of_id: row.slave_of_id, deleted: false }).select('id');
    const release = await takeSet([row.slave_of_id, ...replicas.map((r: { id: string }) => r.id)], Tasks.PROMOTING);
    await cast(release, 'promote_to_replica_source', () => deps.taskmanager.promote_to_replica_source({ instance_id: row.id }));
  }

  /** Trove's eject_replica_source (failover): a source with replicas whose guest has stopped reporting; every member EJECTING. */
  async function eject(ctx: Context, row: InstanceRecord) {
    authorize(ctx, 'instance:eject_replica_source');
    const replicas = await deps.db('instances').where({ slave_of_id: row.id, deleted: false }).select('id');
    if (!replicas.length) throw new BadRequestError(`Instance ${row.id} is not a replica source.`);
    const last = row.service_status_updated ? new Date(row.service_status_updated).getTime() : 0;
    if (Date.now() - last < deps.config.agent_heartbeat_expiry * 1000) {
      throw new BadRequestError(`Replica Source ${row.id} cannot be ejected as it has a current heartbeat`);
    }
    const release = await takeSet([row.id, ...replicas.map((r: { id: string }) => r.id)], Tasks.EJECTING);
    await cast(release, 'eject_replica_source', () => deps.taskmanager.eject_replica_source({ instance_id: row.id }));
  }

  router.post('/instances/:id/action', async (ctx) => {
    const row = await loadInstance(ctx, deps, param(ctx, 'id'));
    const body = ctx.request.body;
    const keys = body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : [];
    if (keys.length !== 1) throw new BadRequestError('Invalid request body: exactly one action is expected.');
    const known = ['restart', 'resize', 'reset_status', 'promote_to_replica_source', 'eject_replica_source'];
    if (!known.includes(keys[0]!)) throw new BadRequestError(`Invalid instance action: ${keys[0]}`);
    const action = parseBody(instanceAction, body);
    if ('restart' in action) {
      authorize(ctx, 'instance:restart');
      await ready(row);
      await take(row, Tasks.REBOOTING);
      await deps.taskmanager.restart({ instance_id: row.id });
    } else if ('resize' in action) {
      if ('flavorRef' in action.resize) await resizeFlavor(ctx, row, action.resize.flavorRef);
      else await resizeVolume(ctx, row, action.resize.volume.size);
    } else if ('reset_status' in action) {
      await resetStatus(ctx, row, action.reset_status.force_delete === true);
    } else if ('promote_to_replica_source' in action) {
      await promote(ctx, row);
    } else {
      await eject(ctx, row);
    }
    ctx.status = 202;
  });

  router.post('/mgmt/instances/:id/action', async (ctx) => {
    authorize(ctx, 'instance:extension:mgmt:action');
    const row = await loadInstance(ctx, deps, param(ctx, 'id'));
    const body = ctx.request.body as Record<string, unknown> | undefined;
    const keys = body && typeof body === 'object' ? Object.keys(body) : [];
    if (keys.length !== 1) throw new BadRequestError('Invalid request body: exactly one action is expected.');
    if (!['stop', 'start', 'reboot', 'reset-task-status', 'migrate', 'rebuild'].includes(keys[0]!)) throw new BadRequestError(`Invalid instance action: ${keys[0]}`);
    // the action's value is checked before anything is taken ({"stop": null} used to stop the instance)
    parseBody(mgmtInstanceAction, body);
    switch (keys[0]) {
      case 'stop':
        await ready(row);
        await take(row, Tasks.REBOOTING);
        await deps.taskmanager.stop_db({ instance_id: row.id });
        break;
      case 'start':
        await take(row, Tasks.REBOOTING);
        await deps.taskmanager.start_db({ instance_id: row.id });
        break;
      case 'reboot':
        await take(row, Tasks.REBOOTING);
        await deps.taskmanager.reboot({ instance_id: row.id });
        break;
      case 'reset-task-status':
        await resetStatus(ctx, row, false);
        break;
      case 'migrate':
      case 'rebuild':
        throw new NotImplementedError(`The ${keys[0]} action is not supported by this deployment.`);
      default:
        throw new BadRequestError(`Invalid instance action: ${keys[0]}`);
    }
    ctx.status = 202;
  });
  return router;
}
