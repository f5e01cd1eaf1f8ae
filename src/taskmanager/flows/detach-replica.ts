// Detach a replica (PUT /instances/{id} {"replica_of": null}): its guest stops replicating and
// makes the engine writable, the source drops the replica's account (best effort: the source may
// be gone or unreachable), then the instance forgets its source. A failure leaves the instance in
// ERROR (Action error.) with a fault, still a replica.
import { Tasks } from '../../common/instance-tasks.js';
import { clearFaults, getInstanceRow, recordFault, setTask, updateInstance } from '../../db/instances.js';
import type { FlowDefinition } from '../flow.js';
import { guestOf, type TaskContext } from '../context.js';

export const DETACH_REPLICA = 'detach_replica';

export interface DetachData {
  sourceId?: string | null;
}

/**
 * Removes a replica's replication account on its source, best effort (a replica deleted or
 * detached must not be held back by a source that is gone); false when it could not.
 */
export async function cleanupSource(ctx: TaskContext, sourceId: string, replicaId: string, log: { warn(o: object, m: string): void }): Promise<boolean> {
  const source = await getInstanceRow(ctx.db, sourceId, { live: true });
  if (!source || source.server_status !== 'ACTIVE') {
    log.warn({ source_id: sourceId }, 'the replica source is gone or not running; its replication account is not removed');
    return false;
  }
  try {
    await guestOf(ctx, sourceId).cleanup_source_on_replica_detach(
      { replica_info: { replica_id: replicaId } },
      { timeoutMs: ctx.config.agent_call_high_timeout * 1000 },
    );
    return true;
  } catch (err) {
    log.warn({ source_id: sourceId, err: (err as Error).message }, 'the replica source did not remove the replication account');
    return false;
  }
}

export function detachReplicaFlow(ctx: TaskContext): FlowDefinition<DetachData> {
  return {
    name: DETACH_REPLICA,
    steps: [
      {
        name: 'detach',
        run: async (s) => {
          const r = await getInstanceRow(ctx.db, s.instanceId);
          if (s.data.sourceId === undefined) {
            s.data.sourceId = r?.slave_of_id ?? null;
            await s.save();
          }
          await guestOf(ctx, s.instanceId).detach_replica({ for_failover: false }, { timeoutMs: ctx.config.agent_call_high_timeout * 1000 });
        },
      },
      {
        name: 'cleanup_source',
        run: async (s) => {
          if (s.data.sourceId) await cleanupSource(ctx, s.data.sourceId, s.instanceId, s.log);
        },
      },
      {
        name: 'forget_source',
        run: async (s) => updateInstance(ctx.db, s.instanceId, { slave_of_id: null }),
      },
    ],
    done: async (s) => {
      await clearFaults(ctx.db, s.instanceId);
      await setTask(ctx.db, s.instanceId, Tasks.NONE);
      s.log.info('replica detached from its source');
    },
    fail: async (s, error, step) => {
      await recordFault(ctx.db, s.instanceId, `Detaching the replica failed in step ${step}: ${error.message}`, error.stack ?? error.message);
      await setTask(ctx.db, s.instanceId, Tasks.ACTION_ERROR);
    },
  };
}
