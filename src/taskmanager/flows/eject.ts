// Failover (eject_replica_source, Trove's order) for a source that stopped answering: the most
// current replica becomes the source of the set and the other replicas replicate from it; the old
// source is left out of the set (the user deletes it). The flow runs on the old source; every
// member is EJECTING meanwhile. "Most current" without reading an engine's transaction ids: the
// replica that already has every other replica's last transaction (wait_for_txn answers at once).
// Before the switch a failure leaves the set as it was (the old source EJECTION_ERROR with the
// fault); after it, a replica that could not be moved is EJECTION_ERROR with a fault.
import { Tasks } from '../../common/instance-tasks.js';
import { recordFault, setTask, updateInstance } from '../../db/instances.js';
import type { FlowDefinition } from '../flow.js';
import { guestOf, type TaskContext } from '../context.js';
import { attachTo, liveMember } from './promote.js';

export const EJECT = 'eject_replica_source';

export interface EjectData {
  replicaIds?: string[];
  candidateId?: string;
  switched?: boolean;
  moved?: string[];
  failed?: Record<string, string>;
}

export function ejectFlow(ctx: TaskContext): FlowDefinition<EjectData> {
  const high = { timeoutMs: ctx.config.agent_call_high_timeout * 1000 };
  const guest = (id: string) => guestOf(ctx, id);
  const row = (id: string) => liveMember(ctx, id);

  return {
    name: EJECT,
    steps: [
      {
        name: 'members',
        run: async (s) => {
          const replicas = await ctx.db('instances').where({ slave_of_id: s.instanceId, deleted: false }).orderBy('created').select('id');
          if (!replicas.length) throw new Error(`Instance ${s.instanceId} has no replicas.`);
          s.data.replicaIds = replicas.map((r: { id: string }) => r.id);
          s.data.moved = [];
          s.data.failed = {};
          await s.save();
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
      {
        name: 'enable_as_source',
        run: async (s) => {
          const c = s.data.candidateId!;
          await guest(c).detach_replica({ for_failover: true }, high);
          await guest(c).enable_as_master({ replica_source_config: null }, high);
          await guest(c).make_read_only({ read_only: false }, high);
          await updateInstance(ctx.db, c, { slave_of_id: null });
          s.data.switched = true;
          await s.save();
        },
      },
      {
        name: 'move_replicas',
        run: async (s) => {
          const candidate = await row(s.data.candidateId!);
          for (const id of s.data.replicaIds!) {
            if (id === candidate.id || s.data.moved!.includes(id) || s.data.failed![id]) continue;
            try {
              await guest(id).detach_replica({ for_failover: true }, high);
              await attachTo(ctx, candidate, id, true);
              s.data.moved!.push(id);
            } catch (err) {
              s.data.failed![id] = (err as Error).message;
            }
            await s.save();
          }
        },
      },
    ],
    done: async (s) => {
      for (const id of [s.instanceId, ...s.data.replicaIds!]) {
        const reason = s.data.failed?.[id];
        if (reason) {
          await recordFault(
            ctx.db,
            id,
            `Ejecting replica source ${s.instanceId}: this instance could not be switched to ${s.data.candidateId}: ${reason}`,
            reason,
          );
          await setTask(ctx.db, id, Tasks.EJECTION_ERROR);
        } else {
          await setTask(ctx.db, id, Tasks.NONE);
        }
      }
    },
    fail: async (s, error, step) => {
      await recordFault(ctx.db, s.instanceId, `Ejecting the replica source failed in step ${step}: ${error.message}`, error.stack ?? error.message);
      for (const id of [s.instanceId, ...(s.data.replicaIds ?? [])]) {
        await setTask(ctx.db, id, id === s.instanceId || (s.data.switched && id === s.data.candidateId) ? Tasks.EJECTION_ERROR : Tasks.NONE);
      }
    },
  };
}
