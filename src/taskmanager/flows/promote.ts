// Switchover (promote_to_replica_source, Trove's order): the old source stops users' writes, the
// candidate replica catches up with its last transaction, leaves replication and takes writes; the
// other replicas then replicate from it (each with a new account on it), and last the old source
// becomes its replica. The flow runs on the candidate; every member is PROMOTING meanwhile. Before
// the switch a failure undoes it (the old source writable again, everyone back to NONE, the
// candidate PROMOTION_ERROR with the fault); after it, a member that could not be moved is left
// PROMOTION_ERROR with a fault, the others NONE.
import { Tasks } from '../../common/instance-tasks.js';
import { replicasOf } from '../../db/instances.js';
import type { FlowDefinition } from '../flow.js';
import { guestOf, type TaskContext } from '../context.js';
import { attachTo, enableAsSource, failMembers, liveMember, moveReplicas, recordMembers, settleMembers, type SwitchData } from './replica-set.js';

export const PROMOTE = 'promote_to_replica_source';

export interface PromoteData extends SwitchData {
  oldSourceId?: string;
}

export function promoteFlow(ctx: TaskContext): FlowDefinition<PromoteData> {
  const high = { timeoutMs: ctx.config.agent_call_high_timeout * 1000 };
  const guest = (id: string) => guestOf(ctx, id);
  const candidate = (s: { instanceId: string }) => s.instanceId;

  return {
    name: PROMOTE,
    steps: [
      {
        name: 'members',
        run: async (s) => {
          const row = await liveMember(ctx, s.instanceId);
          if (!row.slave_of_id) throw new Error(`Instance ${s.instanceId} is not a replica.`);
          s.data.oldSourceId = row.slave_of_id;
          await recordMembers(
            s,
            (await replicasOf(ctx.db, row.slave_of_id)).filter((id) => id !== s.instanceId),
          );
        },
      },
      {
        name: 'old_source_read_only',
        run: async (s) => void (await guest(s.data.oldSourceId!).make_read_only({ read_only: true }, high)),
      },
      {
        name: 'catch_up',
        run: async (s) => {
          const { txn } = await guest(s.data.oldSourceId!).get_last_txn({}, high);
          const timeout = ctx.config.state_change_wait_time;
          await guest(s.instanceId).wait_for_txn({ txn, timeout }, { timeoutMs: (timeout + ctx.config.agent_call_low_timeout) * 1000 });
        },
      },
      enableAsSource(ctx, candidate),
      moveReplicas(ctx, candidate),
      {
        name: 'demote_old_source',
        run: async (s) => {
          const old = s.data.oldSourceId!;
          try {
            // the old source's accounts for its former replicas go; then it replicates from the candidate
            for (const id of [s.instanceId, ...(s.data.replicaIds ?? [])]) {
              await guest(old)
                .cleanup_source_on_replica_detach({ replica_info: { replica_id: id } }, high)
                .catch((err: Error) => s.log.warn({ replica_id: id, err: err.message }, 'the old source kept a replication account'));
            }
            await attachTo(ctx, await liveMember(ctx, s.instanceId), old, false);
          } catch (err) {
            s.data.failed![old] = (err as Error).message;
            await s.save();
          }
        },
      },
    ],
    done: (s) =>
      settleMembers(
        ctx,
        [s.instanceId, s.data.oldSourceId!, ...(s.data.replicaIds ?? [])],
        s.data.failed,
        Tasks.PROMOTION_ERROR,
        (reason) => `Promoting ${s.instanceId} to replica source: this instance could not be switched to it: ${reason}`,
      ),
    fail: async (s, error, step) => {
      if (!s.data.switched && s.data.oldSourceId) {
        // nothing switched: the old source takes writes again
        await guest(s.data.oldSourceId)
          .make_read_only({ read_only: false }, high)
          .catch((err: Error) => s.log.error({ err: err.message }, 'the old source could not be made writable again'));
      }
      await failMembers(
        ctx,
        s,
        `Promoting the replica to replica source failed in step ${step}`,
        error,
        [s.instanceId, ...(s.data.oldSourceId ? [s.data.oldSourceId] : []), ...(s.data.replicaIds ?? [])],
        (id) => id === s.instanceId || Boolean(s.data.switched),
        Tasks.PROMOTION_ERROR,
      );
    },
  };
}
