// Trove's usage events (trove/common/notification.py TroveInstanceCreate, ...Delete, ...ModifyVolume,
// ...ModifyFlavor, and the periodic trove.instance.exists of trove/extensions/mgmt/instances/models.py),
// what Ceilometer bills from: the instance's traits field for field as Trove's TroveCommonTraits
// gives them, from the taskmanager with the host as publisher_id (Trove's CONF.host).
import { Tasks, taskFromCode } from '../common/instance-tasks.js';
import { getInstanceRow, liveInstancesWithManager, managerOf, type InstanceRow } from '../db/instances.js';
import { isotime } from '../notifications/envelope.js';
import type { NotificationContext } from '../notifications/notifier.js';
import type { TaskContext } from './context.js';
import { startPeriodic } from './periodic.js';

export type UsageEvent = 'create' | 'delete' | 'modify_volume' | 'modify_flavor';

/** Trove's cfg.UNKNOWN_SERVICE_ID: a datastore manager notification_service_id does not list. */
export const UNKNOWN_SERVICE_ID = 'unknown-service-id-error';

/** notification_service_id's `manager:id,...` → the id of `manager`. */
export function serviceIdOf(map: string, manager: string | null): string {
  for (const pair of map.split(',')) {
    const [m, id] = pair.trim().split(':');
    if (m && m === manager && id) return id;
  }
  return UNKNOWN_SERVICE_ID;
}

/** The status Trove's instance shows, in lower case (its usage events' state): a settled instance
 * is its server's status; one in a task shows the task's (a delete: shutdown). */
export function usageState(r: InstanceRow): string {
  const task = taskFromCode(r.task_id);
  if (task.isError) return 'error';
  if (task.code === Tasks.BUILDING.code) return 'build';
  if (task.code === Tasks.DELETING.code) return 'shutdown';
  if (task.code === Tasks.RESIZING.code) return 'resize';
  if (task.code === Tasks.REBOOTING.code) return 'reboot';
  return (r.server_status === 'VERIFY_RESIZE' ? 'resize' : (r.server_status ?? 'unknown')).toLowerCase();
}

/** Trove's TroveBaseTraits + TroveCommonTraits payload of an instance. */
async function instanceTraits(ctx: TaskContext, r: InstanceRow, context: NotificationContext): Promise<Record<string, unknown>> {
  const flavor = await ctx.compute.getFlavor(r.flavor_id).catch(() => undefined);
  const created = isotime(r.created);
  const state = usageState(r);
  return {
    availability_zone: r.availability_zone,
    created_at: created,
    name: r.name,
    instance_id: r.id,
    instance_name: r.name,
    instance_size: flavor?.ram ?? null,
    instance_type: flavor?.name ?? null,
    instance_type_id: r.flavor_id,
    launched_at: created,
    nova_instance_id: r.compute_instance_id,
    region: r.region_id ?? ctx.config.os_region_name,
    state_description: state,
    state,
    tenant_id: r.tenant_id,
    user_id: context.user_id ?? context.user ?? null,
    // Trove: only for a datastore with volume support
    ...(r.volume_size !== null ? { volume_size: r.volume_size, nova_volume_id: r.volume_id } : {}),
    service_id: serviceIdOf(ctx.config.notification_service_id, await managerOf(ctx.db, r.id)),
  };
}

/**
 * Sends trove.instance.<event> for the instance as it is now, `extra` over its traits (Trove's
 * kwargs: old_volume_size, modify_at, deleted_at, ...). Never fails its flow: the payload is read
 * here, the publish goes on without it (a bus that is down holds no flow).
 */
export async function sendUsageEvent(
  ctx: TaskContext,
  instanceId: string,
  event: UsageEvent,
  extra: Record<string, unknown> = {},
  context: NotificationContext = {},
): Promise<void> {
  if (!ctx.notifier.enabled) return;
  try {
    const r = await getInstanceRow(ctx.db, instanceId);
    if (!r) return;
    const payload = { ...(await instanceTraits(ctx, r, context)), ...extra };
    void ctx.notifier.notify(`trove.instance.${event}`, payload, 'INFO', { publisherId: ctx.notifier.host, context });
  } catch (err) {
    ctx.log.warn({ instance_id: instanceId, event, err: (err as Error).message }, 'usage event not sent');
  }
}

/** One trove.instance.exists per instance not deleted (Trove's NotificationTransformer), for the audit period ending now. */
export async function publishExistsEvents(ctx: TaskContext, now = new Date()): Promise<number> {
  const start = new Date(now.getTime() - ctx.config.exists_notification_interval * 1000);
  const rows = await liveInstancesWithManager(ctx.db);
  for (const r of rows) {
    const state = usageState(r);
    const created = isotime(r.created);
    await ctx.notifier.notify(
      'trove.instance.exists',
      {
        audit_period_beginning: isotime(start),
        audit_period_ending: isotime(now),
        created_at: created,
        display_name: r.name,
        instance_id: r.id,
        instance_name: r.name,
        instance_type_id: r.flavor_id,
        launched_at: created,
        nova_instance_id: r.compute_instance_id,
        region: r.region_id ?? ctx.config.os_region_name,
        state_description: state,
        state,
        tenant_id: r.tenant_id,
        service_id: serviceIdOf(ctx.config.notification_service_id, r.manager),
      },
      'INFO',
    );
  }
  return rows.length;
}

/** The periodic exists events when exists_notification_transformer is set (Trove's switch); returns the stop function. */
export function startExistsEvents(ctx: TaskContext): () => Promise<void> {
  if (!ctx.config.exists_notification_transformer || !ctx.notifier.enabled) return async () => undefined;
  return startPeriodic(ctx.log, ctx.config.exists_notification_interval, 'trove.instance.exists not sent', () => publishExistsEvents(ctx));
}
