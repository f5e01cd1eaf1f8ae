// Storage autoscaling (trove-ts extension, as RDS's): every autoscale_interval seconds, each
// instance with a max_volume_size whose reported volume use is at autoscale_volume_used_percent
// or more, and that was not grown within autoscale_cooldown seconds, is grown by
// autoscale_increment_percent (at least 1 GB, never past max_volume_size): the instance's task
// taken as the API's resize does (an instance busy with another task is left for the next pass),
// the growth claimed with a compare-and-set on last_autoscale_at (two taskmanagers grow it once),
// the project's volume quota taken (over it: nothing grown, a notification says why), then the
// resize_volume flow, and a notification.
import { Tasks } from '../common/instance-tasks.js';
import type { AlarmNotifier } from '../common/metrics/alarms.js';
import { loggingNotifier } from '../common/metrics/alarms.js';
import { autoscaleCandidates, claimAutoscale } from '../db/instance-alarms.js';
import { giveTaskBack, takeTasks } from '../db/instances.js';
import { changeUsage, quotaLimits } from '../db/quotas.js';
import type { TaskContext } from './context.js';
import { startPeriodic } from './periodic.js';

/** The size a volume grows to: by the increment, at least 1 GB, at most the limit. */
export function grownSize(size: number, incrementPercent: number, max: number): number {
  return Math.min(max, Math.max(size + 1, Math.ceil(size * (1 + incrementPercent / 100))));
}

export async function autoscaleOnce(ctx: TaskContext, notifier: AlarmNotifier, now = new Date()): Promise<string[]> {
  const c = ctx.config;
  const grown: string[] = [];
  const candidates = await autoscaleCandidates(ctx.db, new Date(now.getTime() - c.autoscale_cooldown * 1000));
  for (const i of candidates) {
    const usedPercent = (i.volume_used / i.volume_size) * 100;
    if (usedPercent < c.autoscale_volume_used_percent) continue;
    const newSize = grownSize(i.volume_size, c.autoscale_increment_percent, i.max_volume_size);
    const taken = await takeTasks(ctx.db, [i.id], Tasks.RESIZING, [Tasks.NONE, Tasks.RESTART_REQUIRED]);
    if ('busy' in taken) continue; // busy with another task: the next pass
    const [member] = taken.taken;
    if (!(await claimAutoscale(ctx.db, i.id, i.last_autoscale_at, now))) {
      await giveTaskBack(ctx.db, member!, Tasks.RESIZING);
      continue; // another taskmanager grows it
    }
    const limits = await quotaLimits(ctx.db, i.tenant_id, { instances: -1, ram: -1, volumes: c.max_volumes_per_tenant, backups: -1 });
    const over = await changeUsage(ctx.db, i.tenant_id, { volumes: newSize - i.volume_size }, limits);
    const event = {
      instance_id: i.id,
      tenant_id: i.tenant_id,
      volume_size: i.volume_size,
      new_size: newSize,
      volume_used_percent: Math.round(usedPercent * 10) / 10,
    };
    if (over.length) {
      await giveTaskBack(ctx.db, member!, Tasks.RESIZING);
      const message = `The volume is ${event.volume_used_percent}% used, but growing it to ${newSize} GB would exceed the project's volume quota.`;
      ctx.log.warn({ ...event }, 'storage autoscaling refused by the quota');
      await notifier.notify('trove.instance.autoscale.error', { ...event, message });
      continue;
    }
    await ctx.runner.begin('resize_volume', i.id, { newSize }, c.resize_time_out);
    ctx.log.info({ ...event }, 'storage autoscaling: growing the volume');
    await notifier.notify('trove.instance.autoscale', { ...event, message: `The volume is ${event.volume_used_percent}% used: growing it to ${newSize} GB.` });
    grown.push(i.id);
  }
  return grown;
}

/** Runs autoscaleOnce every autoscale_interval seconds; the function returned stops it (waiting for a pass in progress). */
export function startStorageAutoscaler(ctx: TaskContext, notifier: AlarmNotifier = loggingNotifier(ctx.log)): () => Promise<void> {
  return startPeriodic(ctx.log, ctx.config.autoscale_interval, 'storage autoscaling pass failed', () => autoscaleOnce(ctx, notifier));
}
