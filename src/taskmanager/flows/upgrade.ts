// Trove's upgrade (instance onto another version of its datastore), made safe: a full backup of
// the instance first (recorded on it as upgrade_backup_id; its failure stops the flow before
// anything changed), then each member's guest `upgrade` — a source's replicas first (oldest
// first), the source last — each member's row moved to the target version as soon as its guest
// answers. A guest whose upgrade fails has put its old binaries and data back and is running its
// old version: the flow stops there, every member ends ACTIVE on the version it runs (replicas
// upgraded before a failure stay upgraded: a replica may be newer than its source, never older),
// and the instance asked for gets a fault with the engine's own message.
import { randomUUID } from 'node:crypto';
import { Tasks } from '../../common/instance-tasks.js';
import { ServiceStatuses } from '../../common/service-status.js';
import { containerFor, getBackupRow, newBackupInfo, reserveBackup, setBackupState, type NewBackup } from '../../db/backups.js';
import { getVersionById, type DatastoreVersionRow } from '../../db/datastores.js';
import { clearFaults, getInstanceRow, guestStatus, recordFault, replicasOf, setServiceStatus, setTask, updateInstance } from '../../db/instances.js';
import { recordMaintenanceResult } from '../../db/instance-maintenance.js';
import type { BackupStorage } from '../../rpc/contracts/common.js';
import type { FlowDefinition, StepContext } from '../flow.js';
import { guestOf, type TaskContext } from '../context.js';
import { faultDetails, faultMessage, instanceConsoleTail } from '../faults.js';
import { waitForGuestReady, waitForServer, WaitError } from '../waits.js';

export const UPGRADE = 'upgrade';

export interface UpgradeData {
  targetVersionId: string;
  sealedStorage: string;
  /** the members in the order they are upgraded: replicas first, the instance asked for last */
  members?: string[];
  /** members whose guest answered the upgrade (their row names the target version) */
  upgraded?: string[];
  backupId?: string;
  backupCastAt?: string;
  /** members whose server was rebuilt from the target version's image (cloud mode) */
  rebuilt?: string[];
  /** started by the maintenance pass (automatic minor upgrade): its end is recorded in instance_maintenance */
  maintenance?: boolean;
}

/**
 * Records the upgrade flow of an instance whose members' tasks are taken (UPGRADING): the backup,
 * then each member; bounded by backup_timeout and upgrade_timeout per member.
 */
export async function beginUpgrade(
  ctx: TaskContext,
  instanceId: string,
  targetVersionId: string,
  storage: BackupStorage,
  extra: Pick<UpgradeData, 'maintenance'> = {},
): Promise<boolean> {
  const data: UpgradeData = { ...extra, targetVersionId, sealedStorage: ctx.secrets.seal(JSON.stringify(storage)) };
  // the backup, then each member of the set (a source waits for its replicas)
  const members = 1 + (await replicasOf(ctx.db, instanceId)).length;
  return ctx.runner.begin(UPGRADE, instanceId, data, ctx.config.backup_timeout + ctx.config.upgrade_timeout * members);
}

/**
 * Cloud mode: the image a member's server is rebuilt from (Nova's rebuild keeps the data volume),
 * when the target version names an image of its own; undefined: the binaries are switched in place
 * (the all-in-one's side-by-side builds, 'local', or packages on the running image).
 */
export function rebuildImage(from: DatastoreVersionRow | undefined, to: DatastoreVersionRow): string | undefined {
  if (!to.image_id || to.image_id === 'local' || to.image_id === from?.image_id) return undefined;
  return to.image_id;
}

/** The pre-upgrade backup needs no quota room: a system backup, never refused. */
const UNLIMITED = { instances: -1, ram: -1, volumes: -1, backups: -1 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function upgradeFlow(ctx: TaskContext): FlowDefinition<UpgradeData> {
  const row = async (id: string) => {
    const r = await getInstanceRow(ctx.db, id);
    if (!r) throw new Error(`Instance ${id} is gone.`);
    return r;
  };
  const target = async (s: StepContext<UpgradeData>) => {
    const v = await getVersionById(ctx.db, s.data.targetVersionId);
    if (!v) throw new Error(`The datastore version ${s.data.targetVersionId} is gone.`);
    return v;
  };
  const members = (s: StepContext<UpgradeData>) => s.data.members ?? [s.instanceId];
  /** Rebuilds a member's server from an image and waits for its guest to report again (its volume, the data, stays attached). */
  const rebuild = async (s: StepContext<UpgradeData>, id: string, image: string) => {
    const server = (await row(id)).compute_instance_id;
    if (!server) throw new Error(`Instance ${id} has no server to rebuild.`);
    const since = new Date();
    const until = Math.min(s.deadline, Date.now() + ctx.config.upgrade_timeout * 1000);
    await ctx.compute.rebuildServer(server, image);
    await waitForServer(ctx, server, ['ACTIVE'], until);
    await waitForGuestReady(ctx, id, since, until);
  };
  const release = async (s: StepContext<UpgradeData>) => {
    for (const id of members(s)) await setTask(ctx.db, id, Tasks.NONE);
  };

  return {
    name: UPGRADE,
    steps: [
      {
        name: 'members',
        run: async (s) => {
          s.data.members = [...(await replicasOf(ctx.db, s.instanceId)), s.instanceId];
          s.data.upgraded = [];
          await s.save();
        },
      },
      {
        name: 'backup',
        run: async (s) => {
          const r = await row(s.instanceId);
          const storage = JSON.parse(ctx.secrets.open(s.data.sealedStorage)) as BackupStorage;
          const version = await getVersionById(ctx.db, r.datastore_version_id);
          if (!version) throw new Error(`The datastore version ${r.datastore_version_id} of the instance is gone.`);
          const to = await target(s);
          if (!s.data.backupId) {
            s.data.backupId = randomUUID();
            await s.save();
          }
          const record: NewBackup = {
            id: s.data.backupId,
            name: `Pre-upgrade backup of ${s.instanceId}`,
            description: `Taken before the upgrade from ${version.name} to ${to.name}`,
            tenantId: r.tenant_id,
            instanceId: r.id,
            parentId: null,
            datastoreVersionId: version.id,
            storageDriver: storage.driver,
            backupType: 'full',
          };
          if (!(await getBackupRow(ctx.db, record.id))) await reserveBackup(ctx.db, record, UNLIMITED);
          await updateInstance(ctx.db, r.id, { upgrade_backup_id: record.id });
          if (s.data.backupCastAt) return; // resumed: already asked of the guest
          s.data.backupCastAt = new Date().toISOString();
          await s.save();
          await setBackupState(ctx.db, record.id, 'BUILDING', ['NEW']);
          const container = await containerFor(ctx.db, r.tenant_id, r.id, ctx.config.backup_swift_container);
          await guestOf(ctx, r.id).create_backup({ backup_info: newBackupInfo(record, version, container), storage });
        },
      },
      {
        name: 'wait_backup',
        run: async (s) => {
          const id = s.data.backupId!;
          const expiryMs = ctx.config.agent_heartbeat_expiry * 1000;
          const until = Math.min(s.deadline, Date.now() + ctx.config.backup_timeout * 1000);
          for (;;) {
            const b = await getBackupRow(ctx.db, id);
            if (!b || b.deleted) throw new WaitError(`The pre-upgrade backup ${id} was deleted; nothing was upgraded.`);
            if (b.state === 'COMPLETED') return;
            if (b.state === 'FAILED')
              throw new WaitError(`The pre-upgrade backup ${id} failed${b.fail_reason ? `: ${b.fail_reason}` : ''}; nothing was upgraded.`);
            const hb = await guestStatus(ctx.db, s.instanceId);
            const last = Math.max(hb?.updated_at ? new Date(hb.updated_at).getTime() : 0, new Date(s.data.backupCastAt!).getTime());
            if (Date.now() - last > expiryMs) throw new WaitError('The guest agent stopped reporting during the pre-upgrade backup; nothing was upgraded.');
            if (Date.now() > until) throw new WaitError('The pre-upgrade backup did not finish in time (backup_timeout); nothing was upgraded.');
            await sleep(1000);
          }
        },
      },
      {
        name: 'upgrade_members',
        run: async (s) => {
          const to = await target(s);
          const timeoutMs = ctx.config.upgrade_timeout * 1000;
          for (const id of members(s)) {
            if (s.data.upgraded!.includes(id)) continue;
            const role = id === s.instanceId ? 'instance' : `replica ${id}`;
            const from = await getVersionById(ctx.db, (await row(id)).datastore_version_id);
            const image = rebuildImage(from, to);
            if (image && !s.data.rebuilt?.includes(id)) {
              // recorded first: a resumed flow never rebuilds twice, and a failure rebuilds back
              s.data.rebuilt = [...(s.data.rebuilt ?? []), id];
              await s.save();
              await rebuild(s, id, image);
            }
            await setServiceStatus(ctx.db, id, ServiceStatuses.UPGRADING);
            let result: { version: string };
            try {
              result = await guestOf(ctx, id).upgrade(
                { upgrade_info: { datastore_version: to.version ?? to.name, datastore_version_name: to.name } },
                { timeoutMs },
              );
            } catch (err) {
              const e = err as Error;
              let back = '';
              if (image && from?.image_id) {
                // the server back on its old image (the guest put its data back already)
                await rebuild(s, id, from.image_id).catch(
                  (r: Error) => (back = ` Its server could not be rebuilt from its old image ${from.image_id}: ${r.message}`),
                );
              }
              const upgraded = s.data.upgraded!.length ? ` (already upgraded and kept: ${s.data.upgraded!.join(', ')})` : '';
              throw Object.assign(new WaitError(`The upgrade of the ${role} to ${to.name} failed${upgraded}: ${e.message}${back}`), {
                cause: e,
              });
            }
            await updateInstance(ctx.db, id, { datastore_version_id: to.id });
            s.data.upgraded!.push(id);
            await s.save();
            s.log.info({ member: id, version: result.version }, 'member upgraded');
          }
        },
      },
    ],
    done: async (s) => {
      await clearFaults(ctx.db, s.instanceId);
      await release(s);
      if (s.data.maintenance) await recordMaintenanceResult(ctx.db, s.instanceId, 'SUCCEEDED', null);
    },
    fail: async (s, error, step) => {
      const message = faultMessage(`Upgrade failed in step ${step}: ${error.message}`);
      await recordFault(ctx.db, s.instanceId, message, faultDetails(error, await instanceConsoleTail(ctx, s.instanceId)));
      if (s.data.backupId) await setBackupState(ctx.db, s.data.backupId, 'FAILED', ['NEW', 'BUILDING', 'SAVING'], error.message).catch(() => 0);
      await release(s);
      if (s.data.maintenance) await recordMaintenanceResult(ctx.db, s.instanceId, 'FAILED', message);
    },
  };
}
