// POST /instances/{id}/action (restart, resize, reset_status, ...) and the admin-only
// POST /mgmt/instances/{id}/action (stop, start, reboot, reset-task-status).
import { authorizeAction } from '../../authorizer.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import {
  BadRequestError,
  NotImplementedError,
  OverLimitError,
  QuotaExceededError,
  ServiceUnavailableError,
  UnprocessableEntityError,
} from '../../../common/errors.js';
import { Tasks, type InstanceTask } from '../../../common/instance-tasks.js';
import { ServiceStatuses } from '../../../common/service-status.js';
import { getInstance, setServiceStatus, setTask, type InstanceRecord } from '../../../db/instances.js';
import { changeUsage, giveBack, quotaLimits, resizeRamReserved, type QuotaDeltas } from '../../../db/quotas.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { parseBody } from '../../validate.js';
import { assertCanAct } from './availability.js';
import { findFlavor } from './create.js';
import { loadInstance, viewInputs } from './lookup.js';
import { instanceAction, mgmtInstanceAction } from './schemas.js';

const ACTIONABLE = [Tasks.NONE, Tasks.RESTART_REQUIRED];

export function instanceActionRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const authorize = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), action);

  async function ready(row: InstanceRecord): Promise<void> {
    assertCanAct(row, (await viewInputs(deps, row)).backupRunning);
  }

  /** Takes the task with compare-and-set so two actions can never start together. */
  async function take(row: InstanceRecord, task: InstanceTask): Promise<void> {
    if (!(await setTask(deps.db, row.id, task, ACTIONABLE))) {
      await ready({ ...row, task_id: Tasks.UPDATING.code }); // raises the 422 with Trove's wording
    }
  }

  /** The task the instance had before `take` (a pending restart stays pending). */
  const previousTask = (row: InstanceRecord): InstanceTask => (row.task_id === Tasks.RESTART_REQUIRED.code ? Tasks.RESTART_REQUIRED : Tasks.NONE);

  /**
   * One action handed to the taskmanager: the task taken (compare-and-set), then the quota the
   * action needs, then the cast. A refused quota gives the task back (413); a taskmanager that
   * cannot be told gives back both the quota and the task (503), so nothing stays RESIZING or
   * REBOOTING for ever and no quota is kept for work that never started.
   */
  async function act(row: InstanceRecord, task: InstanceTask, what: string, send: () => Promise<unknown>, usage: QuotaDeltas = {}): Promise<void> {
    await take(row, task);
    const untake = async () => void (await setTask(deps.db, row.id, previousTask(row), [task]));
    const reserved = Object.values(usage).some((d) => d !== 0);
    if (reserved) {
      const limits = await quotaLimits(deps.db, row.tenant_id, deps.quotaDefaults);
      const over = await changeUsage(deps.db, row.tenant_id, usage, limits).catch(async (err: unknown) => {
        await untake();
        throw err;
      });
      if (over.length) {
        await untake();
        throw new QuotaExceededError(over);
      }
    }
    await cast(
      async () => {
        if (reserved) await giveBack(deps.db, row.tenant_id, usage);
        await untake();
      },
      what,
      send,
    );
  }

  async function resizeFlavor(ctx: Context, row: InstanceRecord, flavorRef: string) {
    authorize(ctx, 'instance:resize_flavor');
    await ready(row);
    const flavor = await findFlavor(ctx, deps, flavorRef);
    if (flavor.id === row.flavor_id) {
      throw new BadRequestError(`The new flavor id must be different than the current flavor id of '${row.flavor_id}'.`);
    }
    const old = await findFlavor(ctx, deps, row.flavor_id).catch(() => undefined);
    const ram = resizeRamReserved(old?.ram, flavor.ram);
    await act(
      row,
      Tasks.RESIZING,
      'resize_flavor',
      () => deps.taskmanager.resize_flavor({ instance_id: row.id, old_flavor_id: row.flavor_id, new_flavor_id: flavor.id }),
      { ram },
    );
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
    // a replication source's replicas grow with it, as Trove's resize_volume does (a replica
    // smaller than its source fills up first)
    const replicas = (await deps.db('instances').where({ slave_of_id: row.id, deleted: false }).select('id', 'volume_size')).filter(
      (r: { volume_size: number | null }) => r.volume_size !== null && r.volume_size < size,
    ) as Array<{ id: string; volume_size: number }>;
    if (!replicas.length) {
      await act(row, Tasks.RESIZING, 'resize_volume', () => deps.taskmanager.resize_volume({ instance_id: row.id, new_size: size }), {
        volumes: size - row.volume_size,
      });
      return;
    }
    const members = [{ id: row.id, volume_size: row.volume_size }, ...replicas];
    const release = await takeSet(
      members.map((m) => m.id),
      Tasks.RESIZING,
    );
    const usage = { volumes: members.reduce((n, m) => n + (size - m.volume_size), 0) };
    const limits = await quotaLimits(deps.db, row.tenant_id, deps.quotaDefaults);
    const over = await changeUsage(deps.db, row.tenant_id, usage, limits).catch(async (err: unknown) => {
      await release();
      throw err;
    });
    if (over.length) {
      await release();
      throw new QuotaExceededError(over);
    }
    for (const [i, m] of members.entries()) {
      try {
        await deps.taskmanager.resize_volume({ instance_id: m.id, new_size: size });
      } catch (err) {
        // the members not told yet are given back, with their quota
        const untold = members.slice(i);
        await giveBack(deps.db, row.tenant_id, { volumes: untold.reduce((n, x) => n + (size - x.volume_size), 0) });
        for (const x of untold) await setTask(deps.db, x.id, Tasks.NONE, [Tasks.RESIZING]);
        deps.log.error({ err: (err as Error).message }, 'could not cast resize_volume');
        throw new ServiceUnavailableError(`The taskmanager could not be reached; the volume resize of ${untold.map((x) => x.id).join(', ')} was not started.`);
      }
    }
  }

  async function resetStatus(ctx: Context, row: InstanceRecord, forceDelete: boolean) {
    // Trove's instance:reset_status is rule:admin. force_delete (the owner's `trove force-delete`)
    // may only clear an instance no flow is working on: a live lease means a running flow, and
    // clearing it takes reset_status (was: any member, force_delete, cleared the lease of a live flow).
    authorize(ctx, forceDelete ? 'instance:force_delete' : 'instance:reset_status');
    const leased = row.flow_lease_until !== null && new Date(row.flow_lease_until).getTime() > Date.now();
    if (forceDelete && leased) authorize(ctx, 'instance:reset_status');
    await setTask(deps.db, row.id, Tasks.NONE, undefined, { flow_state: null, flow_owner: null, flow_lease_until: null });
    await setServiceStatus(deps.db, row.id, ServiceStatuses.UNKNOWN);
    await deps
      .db('backups')
      .where({ instance_id: row.id, deleted: false })
      .whereIn('state', ['NEW', 'BUILDING', 'SAVING'])
      .update({ state: 'FAILED', updated: new Date() });
  }

  /**
   * Moves every member of a replica set to `task` (compare-and-set: each must be free); none moved
   * and Trove's 422 when one is busy. Returns a release that gives them all back.
   */
  async function takeSet(members: string[], task: InstanceTask): Promise<() => Promise<void>> {
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
      await act(row, Tasks.REBOOTING, 'restart', () => deps.taskmanager.restart({ instance_id: row.id }));
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
    if (!['stop', 'start', 'reboot', 'reset-task-status', 'migrate', 'rebuild'].includes(keys[0]!))
      throw new BadRequestError(`Invalid instance action: ${keys[0]}`);
    // the action's value is checked before anything is taken ({"stop": null} used to stop the instance)
    parseBody(mgmtInstanceAction, body);
    switch (keys[0]) {
      case 'stop':
        await ready(row);
        await act(row, Tasks.REBOOTING, 'stop_db', () => deps.taskmanager.stop_db({ instance_id: row.id }));
        break;
      case 'start':
        await act(row, Tasks.REBOOTING, 'start_db', () => deps.taskmanager.start_db({ instance_id: row.id }));
        break;
      case 'reboot':
        await act(row, Tasks.REBOOTING, 'reboot', () => deps.taskmanager.reboot({ instance_id: row.id }));
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
