// Delete: stop the database (best effort), remove server, volume and security group (and the
// instance's archived transaction logs), drop a replica's account on its source (best effort), then mark
// the instance deleted and give its quota back in one transaction. Idempotent.
import { ComputeNotFoundError } from '../../clients/compute.js';
import { getInstanceRow, markDeletedReleasing, recordFault, setTask } from '../../db/instances.js';
import { quotaLimits } from '../../db/quotas.js';
import { Tasks } from '../../common/instance-tasks.js';
import type { FlowDefinition } from '../flow.js';
import { guestOf, type TaskContext } from '../context.js';
import { teardownResources } from './teardown.js';
import { cleanupSource } from './detach-replica.js';
import { sendUsageEvent } from '../usage-events.js';
import { noticeIn } from '../flow-notices.js';
import { isotime } from '../../notifications/envelope.js';

export const DELETE = 'delete';

export interface DeleteData {
  leftovers?: string[];
}

export function deleteFlow(ctx: TaskContext): FlowDefinition<DeleteData> {
  const row = (id: string) => getInstanceRow(ctx.db, id);
  return {
    name: DELETE,
    steps: [
      {
        name: 'stop_database',
        run: async (s) => {
          const r = await row(s.instanceId);
          if (!r?.compute_instance_id || r.server_status !== 'ACTIVE') return;
          await guestOf(ctx, s.instanceId)
            .stop_db({}, { timeoutMs: ctx.config.agent_call_low_timeout * 1000 })
            .catch((err: Error) => s.log.warn({ err: err.message }, 'the guest did not stop the database; deleting anyway'));
        },
      },
      {
        name: 'delete_resources',
        run: async (s) => {
          const r = await row(s.instanceId);
          const server = r?.compute_instance_id ?? (await ctx.compute.findServerForInstance(s.instanceId).catch(() => undefined))?.id;
          const volume = r?.volume_id ?? (await ctx.volumes.findVolume(`trove-${s.instanceId}`).catch(() => undefined))?.id;
          s.data.leftovers = await teardownResources(
            ctx,
            { serverId: server, volumeId: volume, securityGroup: `SecGroup_${s.instanceId}`, busOf: s.instanceId, logArchiveOf: s.instanceId },
            s.log,
          );
          await s.save();
          if (s.data.leftovers.length) throw new Error(`could not remove: ${s.data.leftovers.join('; ')}`);
        },
      },
      {
        // a replica: its account on the source goes too (best effort)
        name: 'replica_cleanup',
        run: async (s) => {
          const r = await row(s.instanceId);
          if (r?.slave_of_id) await cleanupSource(ctx, r.slave_of_id, s.instanceId, s.log);
        },
      },
      {
        name: 'mark_deleted',
        run: async (s) => {
          const r = await row(s.instanceId);
          if (!r || r.deleted) return;
          const ram = await ctx.compute.getFlavor(r.flavor_id).then(
            (f) => f.ram,
            (err) => {
              if (!(err instanceof ComputeNotFoundError)) throw err;
              s.log.warn({ flavor_id: r.flavor_id }, 'the flavor is gone; its RAM is not given back to the quota');
              return 0;
            },
          );
          const limits = await quotaLimits(ctx.db, r.tenant_id, { instances: -1, ram: -1, volumes: -1, backups: -1 });
          const release = { instances: -1, ram: -ram, volumes: -(r.volume_size ?? 0) };
          // Trove's TroveInstanceDelete: after the resources went, before the row is marked deleted
          await sendUsageEvent(ctx, s.instanceId, 'delete', { deleted_at: isotime(new Date()) }, noticeIn(s.data)?.context);
          await markDeletedReleasing(ctx.db, s.instanceId, r.tenant_id, release, limits);
        },
      },
    ],
    fail: async (s, error) => {
      await recordFault(ctx.db, s.instanceId, `Deleting the instance failed: ${error.message}`, error.stack ?? error.message);
      await setTask(ctx.db, s.instanceId, Tasks.NONE, undefined, { server_status: 'ERROR' });
    },
  };
}
