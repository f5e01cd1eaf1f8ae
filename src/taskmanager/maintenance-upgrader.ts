// Automatic minor version upgrades (trove-ts extension, as RDS's auto_minor_version_upgrade):
// every maintenance_interval seconds, each instance with automatic upgrades on whose weekly
// maintenance window is open now, and for which a newer patch release of its version is
// registered (same datastore, same major.minor, active), is upgraded to the newest one by the same
// `upgrade` flow as PATCH /instances/{id} (the pre-upgrade backup first, rollback on failure; a
// source with its replicas). The instance must accept an action (ACTIVE, no task, no backup
// running, its guest reporting): a busy one is left for the next pass and the reason recorded.
// Each window's upgrade is claimed with a compare-and-set on last_attempt_at, so two taskmanagers
// start it once and a failed upgrade is not retried before the next window; the flow's end is
// recorded (SUCCEEDED, or FAILED with the fault).
import { Tasks } from '../common/instance-tasks.js';
import { openWindow } from '../common/maintenance-window.js';
import { newerPatchReleases } from '../common/versions.js';
import { runningBackupOf } from '../db/backups.js';
import { getVersionById, listVersions } from '../db/datastores.js';
import {
  autoUpgradeCandidates,
  claimMaintenanceUpgrade,
  deleteMaintenance,
  getMaintenance,
  orphanedMaintenance,
  recordMaintenanceResult,
  recordMaintenanceSkip,
  type InstanceMaintenanceRecord,
} from '../db/instance-maintenance.js';
import { getInstance, giveTaskBack, replicasOf, takeTasks, type TakenTask } from '../db/instances.js';
import { busyReason } from './backup-scheduler.js';
import type { TaskContext } from './context.js';
import { startPeriodic } from './periodic.js';
import { beginUpgrade } from './flows/upgrade.js';
import { retireTrust, storageFor } from './trusted-storage.js';

const HOLDER = 'maintenance setting';

/** The tasks an automatic upgrade may start from (as the API's actions). */
const ACTIONABLE = [Tasks.NONE, Tasks.RESTART_REQUIRED];

async function giveBack(ctx: TaskContext, taken: TakenTask[]): Promise<void> {
  for (const m of taken) await giveTaskBack(ctx.db, m, Tasks.UPGRADING);
}

/** Starts the instance's upgrade if its window is open and it is due; resolves the target version's name when started. */
async function upgradeIfDue(ctx: TaskContext, m: InstanceMaintenanceRecord, now: Date): Promise<string | undefined> {
  const windowStart = openWindow({ start: m.window_start!, duration: m.window_duration! }, now);
  if (!windowStart) return undefined;
  if (m.last_attempt_at && m.last_attempt_at.getTime() >= windowStart.getTime()) return undefined; // this window's upgrade was attempted
  const instance = await getInstance(ctx.db, m.instance_id);
  if (!instance) return undefined;
  const current = await getVersionById(ctx.db, instance.datastore_version_id);
  if (!current) return undefined;
  const target = newerPatchReleases(current, await listVersions(ctx.db, current.datastore_id)).at(-1);
  if (!target) return undefined;
  const skip = async (reason: string) => {
    // busy because another taskmanager has just started this window's upgrade: nothing to say
    const latest = await getMaintenance(ctx.db, m.instance_id);
    if (latest?.last_attempt_at && latest.last_attempt_at.getTime() >= windowStart.getTime()) return undefined;
    await recordMaintenanceSkip(ctx.db, m.instance_id, `the upgrade to ${target.name} waits: ${reason}`, now);
    ctx.log.info({ instance_id: m.instance_id, target: target.name, reason }, 'automatic minor upgrade not started');
    return undefined;
  };
  // heartbeats are real time, whatever clock the pass is given
  const reason = busyReason(instance, Boolean(await runningBackupOf(ctx.db, instance.id)), ctx.config.agent_heartbeat_expiry, Date.now());
  if (reason) return skip(reason);
  const members = [instance.id, ...(await replicasOf(ctx.db, instance.id))];
  const taken = await takeTasks(ctx.db, members, Tasks.UPGRADING, ACTIONABLE);
  if ('busy' in taken)
    return skip(taken.busy === instance.id ? 'the instance is busy with another task' : `its replica ${taken.busy} is busy with another task`);
  let storage;
  try {
    storage = (await storageFor(ctx, m, HOLDER)).storage;
  } catch (err) {
    await giveBack(ctx, taken.taken);
    return skip(`the storage of the pre-upgrade backup cannot be reached: ${(err as Error).message}`);
  }
  let claimed = false;
  try {
    claimed = await claimMaintenanceUpgrade(ctx.db, m.instance_id, windowStart, { at: now, from: current.name, target: target.name });
    if (!claimed || !(await beginUpgrade(ctx, instance.id, target.id, storage, { maintenance: true }))) {
      await giveBack(ctx, taken.taken); // not claimed: another taskmanager started it
      if (claimed) await recordMaintenanceResult(ctx.db, m.instance_id, 'FAILED', 'The upgrade was not started: the instance became busy with another task.');
      return undefined;
    }
  } catch (err) {
    // never left UPGRADING without a flow
    await giveBack(ctx, taken.taken);
    if (claimed) await recordMaintenanceResult(ctx.db, m.instance_id, 'FAILED', `The upgrade was not started: ${(err as Error).message}`);
    throw err;
  }
  ctx.log.info({ instance_id: instance.id, from: current.name, target: target.name, members }, 'automatic minor upgrade started');
  return target.name;
}

/** One pass at `now`: starts every due upgrade; resolves the ids of the instances whose upgrade started. */
export async function maintenancePass(ctx: TaskContext, now = new Date()): Promise<string[]> {
  const started: string[] = [];
  for (const m of await autoUpgradeCandidates(ctx.db)) {
    try {
      if (await upgradeIfDue(ctx, m, now)) started.push(m.instance_id);
    } catch (err) {
      ctx.log.warn({ instance_id: m.instance_id, err: (err as Error).message }, 'automatic minor upgrade pass failed for an instance');
    }
  }
  // the settings of deleted instances end with them (their trust too)
  for (const m of await orphanedMaintenance(ctx.db)) {
    await retireTrust(ctx, m, HOLDER, { instance_id: m.instance_id });
    await deleteMaintenance(ctx.db, m.instance_id);
  }
  return started;
}

/** Runs maintenancePass every maintenance_interval seconds; `clock` is its notion of now (tests). The function returned stops it. */
export function startMaintenanceUpgrader(ctx: TaskContext, clock: () => Date = () => new Date()): () => Promise<void> {
  return startPeriodic(ctx.log, ctx.config.maintenance_interval, 'maintenance pass failed', () => maintenancePass(ctx, clock()));
}
