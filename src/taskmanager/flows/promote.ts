// Switchover (promote_to_replica_source, Trove's order): the old source stops users' writes, the
// candidate replica catches up with its last transaction, leaves replication and takes writes; the
// other replicas then replicate from it (each with a new account on it), and last the old source
// becomes its replica. The flow runs on the candidate; every member is PROMOTING meanwhile. Before
// the switch a failure undoes it (the old source writable again, everyone back to NONE, the
// candidate PROMOTION_ERROR with the fault); after it, a member that could not be moved is left
// PROMOTION_ERROR with a fault, the others NONE.
import { Tasks } from '../../common/instance-tasks.js';
import { recordFault, setTask, updateInstance, type InstanceRow } from '../../db/instances.js';
import type { ReplicationSource } from '../../rpc/contracts/guest.js';
import type { FlowDefinition } from '../flow.js';
import { guestOf, type TaskContext } from '../context.js';
import { sourceHost } from './replica.js';

export const PROMOTE = 'promote_to_replica_source';

export interface PromoteData {
  oldSourceId?: string;
  /** the old source's other replicas, to be moved to the candidate */
  replicaIds?: string[];
  /** the candidate became the source (past this, nothing is undone) */
  switched?: boolean;
  /** members moved already (a resumed flow skips them) */
  moved?: string[];
  /** members that could not be moved: id → reason */
  failed?: Record<string, string>;
}

/** `member` replicates from `source` with a new account made on it for that member. */
/** A member of the replication set by id; one deleted meanwhile fails the step. */
export async function liveMember(ctx: TaskContext, id: string): Promise<InstanceRow> {
  const r = (await ctx.db('instances').where({ id, deleted: false }).first()) as InstanceRow | undefined;
  if (!r) throw new Error(`Instance ${id} is gone.`);
  return r;
}

export async function attachTo(ctx: TaskContext, source: InstanceRow, member: string, restart: boolean): Promise<void> {
  const high = { timeoutMs: ctx.config.agent_call_high_timeout * 1000 };
  const snap = await guestOf(ctx, source.id).get_replication_snapshot({ snapshot_info: { replica_id: member }, replica_source_config: null }, high);
  const master: ReplicationSource = { host: sourceHost(source), port: snap.port, user: snap.replication_user.name, password: snap.replication_user.password };
  await guestOf(ctx, member).attach_replica({ replica_info: { master }, slave_config: null, restart }, high);
  await updateInstance(ctx.db, member, { slave_of_id: source.id });
}

export function promoteFlow(ctx: TaskContext): FlowDefinition<PromoteData> {
  const high = { timeoutMs: ctx.config.agent_call_high_timeout * 1000 };
  const guest = (id: string) => guestOf(ctx, id);
  const row = (id: string) => liveMember(ctx, id);

  return {
    name: PROMOTE,
    steps: [
      {
        name: 'members',
        run: async (s) => {
          const candidate = await row(s.instanceId);
          if (!candidate.slave_of_id) throw new Error(`Instance ${s.instanceId} is not a replica.`);
          s.data.oldSourceId = candidate.slave_of_id;
          const others = await ctx.db('instances').where({ slave_of_id: candidate.slave_of_id, deleted: false }).whereNot({ id: s.instanceId }).select('id');
          s.data.replicaIds = others.map((o: { id: string }) => o.id);
          s.data.moved = [];
          s.data.failed = {};
          await s.save();
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
      {
        name: 'enable_as_source',
        run: async (s) => {
          await guest(s.instanceId).detach_replica({ for_failover: true }, high);
          await guest(s.instanceId).enable_as_master({ replica_source_config: null }, high);
          await guest(s.instanceId).make_read_only({ read_only: false }, high);
          await updateInstance(ctx.db, s.instanceId, { slave_of_id: null });
          s.data.switched = true;
          await s.save();
        },
      },
      {
        name: 'move_replicas',
        run: async (s) => {
          const candidate = await row(s.instanceId);
          for (const id of s.data.replicaIds ?? []) {
            if (s.data.moved!.includes(id) || s.data.failed![id]) continue;
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
            await attachTo(ctx, await row(s.instanceId), old, false);
          } catch (err) {
            s.data.failed![old] = (err as Error).message;
            await s.save();
          }
        },
      },
    ],
    done: async (s) => {
      const members = [s.instanceId, s.data.oldSourceId!, ...(s.data.replicaIds ?? [])];
      for (const id of members) {
        const reason = s.data.failed?.[id];
        if (reason) {
          await recordFault(ctx.db, id, `Promoting ${s.instanceId} to replica source: this instance could not be switched to it: ${reason}`, reason);
          await setTask(ctx.db, id, Tasks.PROMOTION_ERROR);
        } else {
          await setTask(ctx.db, id, Tasks.NONE);
        }
      }
    },
    fail: async (s, error, step) => {
      const members = [s.instanceId, ...(s.data.oldSourceId ? [s.data.oldSourceId] : []), ...(s.data.replicaIds ?? [])];
      if (!s.data.switched && s.data.oldSourceId) {
        // nothing switched: the old source takes writes again
        await guest(s.data.oldSourceId)
          .make_read_only({ read_only: false }, high)
          .catch((err: Error) => s.log.error({ err: err.message }, 'the old source could not be made writable again'));
      }
      await recordFault(ctx.db, s.instanceId, `Promoting the replica to replica source failed in step ${step}: ${error.message}`, error.stack ?? error.message);
      for (const id of members) await setTask(ctx.db, id, id === s.instanceId || s.data.switched ? Tasks.PROMOTION_ERROR : Tasks.NONE);
    },
  };
}
