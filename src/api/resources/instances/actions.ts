// POST /instances/{id}/action (restart, resize, reset_status, ...) and the admin-only
// POST /mgmt/instances/{id}/action (stop, start, reboot, reset-task-status).
import { authorizeAction } from '../../authorizer.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import { BadRequestError, NotImplementedError, OverLimitError } from '../../../common/errors.js';
import { Tasks, type InstanceTask } from '../../../common/instance-tasks.js';
import { ServiceStatuses } from '../../../common/service-status.js';
import { failRunningBackups, runningBackupOf } from '../../../db/backups.js';
import { replicasOf, replicaVolumes, setServiceStatus, setTask, type InstanceRecord } from '../../../db/instances.js';
import { resizeRamReserved, type QuotaDeltas } from '../../../db/quotas.js';
import { instanceService } from '../../instance-service/service.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { parseBody } from '../../validate.js';
import { assertCanAct } from './availability.js';
import { findFlavor } from './create.js';
import { loadInstance } from './lookup.js';
import { instanceAction, mgmtInstanceAction } from './schemas.js';
import { announced, castWith, startNotice } from '../../dbaas-notice.js';
import type { DbaasNotice } from '../../../notifications/dbaas.js';

export function instanceActionRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const authorize = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), action);
  const instances = instanceService(deps);

  async function ready(row: InstanceRecord): Promise<void> {
    assertCanAct(row, Boolean(await runningBackupOf(deps.db, row.id)));
  }

  /** One action of one instance handed to the taskmanager (see InstanceService: task, quota, cast, undo). */
  function act(
    row: InstanceRecord,
    task: InstanceTask,
    what: string,
    send: () => Promise<unknown>,
    usage: QuotaDeltas = {},
    notice?: DbaasNotice,
  ): Promise<void> {
    return announced(deps, notice, () => instances.act({ what, projectId: row.tenant_id, members: [{ id: row.id, usage }], task, casts: [{ send }] }));
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
    const notice = startNotice(deps, ctx, 'instance_resize_instance', { instance_id: row.id, new_flavor_id: flavor.id });
    await act(
      row,
      Tasks.RESIZING,
      'resize_flavor',
      () => deps.taskmanager.resize_flavor({ instance_id: row.id, old_flavor_id: row.flavor_id, new_flavor_id: flavor.id }, castWith(notice)),
      { ram },
      notice,
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
    // smaller than its source fills up first): each member's GB taken, one cast each
    const replicas = (await replicaVolumes(deps.db, row.id)).filter((r) => r.volume_size !== null && r.volume_size < size);
    const members = [{ id: row.id, volume_size: row.volume_size }, ...replicas].map((m) => ({ id: m.id, usage: { volumes: size - (m.volume_size ?? 0) } }));
    // the instance's own resize ends its notification (its replicas' are not announced, as in Trove)
    const notice = startNotice(deps, ctx, 'instance_resize_volume', { instance_id: row.id, new_size: size });
    await announced(deps, notice, () =>
      instances.act({
        what: 'resize_volume',
        projectId: row.tenant_id,
        members,
        task: Tasks.RESIZING,
        casts: members.map((m) => ({
          ids: [m.id],
          send: () => deps.taskmanager.resize_volume({ instance_id: m.id, new_size: size }, m.id === row.id ? castWith(notice) : {}),
        })),
        ...(replicas.length
          ? { unreachable: (untold: string[]) => `The taskmanager could not be reached; the volume resize of ${untold.join(', ')} was not started.` }
          : {}),
      }),
    );
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
    await failRunningBackups(deps.db, row.id);
  }

  /** An action on every member of a replica set (all taken or none, Trove's 422 naming the busy one), with one cast. */
  function actOnSet(row: InstanceRecord, ids: string[], task: InstanceTask, what: string, send: () => Promise<unknown>): Promise<void> {
    return instances.act({ what, projectId: row.tenant_id, members: ids.map((id) => ({ id })), task, casts: [{ send }] });
  }

  /** Trove's promote_to_replica_source (switchover): a replica that accepts an action; every member of its set PROMOTING. */
  async function promote(ctx: Context, row: InstanceRecord) {
    authorize(ctx, 'instance:promote_to_replica_source');
    await ready(row);
    if (!row.slave_of_id) throw new BadRequestError(`Instance ${row.id} is not a replica.`);
    const replicas = await replicasOf(deps.db, row.slave_of_id);
    await actOnSet(row, [row.slave_of_id, ...replicas], Tasks.PROMOTING, 'promote_to_replica_source', () =>
      deps.taskmanager.promote_to_replica_source({ instance_id: row.id }),
    );
  }

  /** Trove's eject_replica_source (failover): a source with replicas whose guest has stopped reporting; every member EJECTING. */
  async function eject(ctx: Context, row: InstanceRecord) {
    authorize(ctx, 'instance:eject_replica_source');
    const replicas = await replicasOf(deps.db, row.id);
    if (!replicas.length) throw new BadRequestError(`Instance ${row.id} is not a replica source.`);
    const last = row.service_status_updated ? new Date(row.service_status_updated).getTime() : 0;
    if (Date.now() - last < deps.config.agent_heartbeat_expiry * 1000) {
      throw new BadRequestError(`Replica Source ${row.id} cannot be ejected as it has a current heartbeat`);
    }
    await actOnSet(row, [row.id, ...replicas], Tasks.EJECTING, 'eject_replica_source', () => deps.taskmanager.eject_replica_source({ instance_id: row.id }));
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
      const notice = startNotice(deps, ctx, 'instance_restart', { instance_id: row.id });
      await act(row, Tasks.REBOOTING, 'restart', () => deps.taskmanager.restart({ instance_id: row.id }, castWith(notice)), {}, notice);
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
