// Failover (eject_replica_source, Trove's order) for a source that stopped answering: the most
// current replica becomes the source of the set and the other replicas replicate from it; the old
// source is left out of the set (the user deletes it). The flow runs on the old source; every
// member is EJECTING meanwhile. "Most current" without reading an engine's transaction ids: the
// replica that already has every other replica's last transaction (wait_for_txn answers at once).
// Before the switch a failure leaves the set as it was (the old source EJECTION_ERROR with the
// fault); after it, a replica that could not be moved is EJECTION_ERROR with a fault.
import { Tasks } from '../../common/instance-tasks.js';
import { replicasOf } from '../../db/instances.js';
import type { FlowDefinition } from '../flow.js';
import { guestOf, type TaskContext } from '../context.js';
import { enableAsSource, failMembers, moveReplicas, recordMembers, settleMembers, type SwitchData } from './replica-set.js';

export const EJECT = 'eject_replica_source';

export interface EjectData extends SwitchData {
  candidateId?: string;
}

export function ejectFlow(ctx: TaskContext): FlowDefinition<EjectData> {
  const high = { timeoutMs: ctx.config.agent_call_high_timeout * 1000 };
  const guest = (id: string) => guestOf(ctx, id);
  const candidate = (s: { data: EjectData }) => s.data.candidateId!;

  return {
    name: EJECT,
    steps: [
      {
        name: 'members',
        run: async (s) => {
          const replicas = await replicasOf(ctx.db, s.instanceId);
          if (!replicas.length) throw new Error(`Instance ${s.instanceId} has no replicas.`);
          await recordMembers(s, replicas);
        },
      },
      {
        name: 'choose',
        run: async (s) => {
          const ids = s.data.replicaIds!;
          const txns = new Map<string, string>();
          for (const id of ids) txns.set(id, (await guest(id).get_last_txn({}, high)).txn);
          for (const id of ids) {
            let current = true;
            for (const [other, txn] of txns) {
              if (other === id) continue;
              const has = await guest(id)
                .wait_for_txn({ txn, timeout: 1 }, { timeoutMs: (1 + ctx.config.agent_call_low_timeout) * 1000 })
                .then(
                  () => true,
                  () => false,
                );
              if (!has) {
                current = false;
                break;
              }
            }
            if (current) {
              s.data.candidateId = id;
              await s.save();
              s.log.info({ candidate: id }, 'the most current replica becomes the source');
              return;
            }
          }
          throw new Error('No replica has every transaction the others have: they diverged.');
        },
      },
      enableAsSource(ctx, candidate),
      moveReplicas(ctx, candidate),
    ],
    done: (s) =>
      settleMembers(
        ctx,
        [s.instanceId, ...s.data.replicaIds!],
        s.data.failed,
        Tasks.EJECTION_ERROR,
        (reason) => `Ejecting replica source ${s.instanceId}: this instance could not be switched to ${s.data.candidateId}: ${reason}`,
      ),
    fail: (s, error, step) =>
      failMembers(
        ctx,
        s,
        `Ejecting the replica source failed in step ${step}`,
        error,
        [s.instanceId, ...(s.data.replicaIds ?? [])],
        (id) => id === s.instanceId || (Boolean(s.data.switched) && id === s.data.candidateId),
        Tasks.EJECTION_ERROR,
      ),
  };
}
