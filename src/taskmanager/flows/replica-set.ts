// A replication set's members and the steps that give it a new source, shared by switchover
// (promote.ts: a replica takes over from a source that answers) and failover (eject.ts: from one
// that does not): the candidate leaves replication and takes writes, the other replicas move to
// it one by one (a member that cannot be moved is noted and the others go on), and at the end
// each member's task is NONE, or the flow's error task with a fault saying why.
import type { InstanceTask } from '../../common/instance-tasks.js';
import { Tasks } from '../../common/instance-tasks.js';
import { getInstanceRow, recordFault, setTask, updateInstance, type InstanceRow } from '../../db/instances.js';
import type { ReplicationSource } from '../../rpc/contracts/guest.js';
import type { Step, StepContext } from '../flow.js';
import { guestOf, type TaskContext } from '../context.js';
import { sourceHost } from './replica.js';

/** What both flows keep in their state about the set. */
export interface SwitchData {
  /** the replicas to move to the new source */
  replicaIds?: string[];
  /** the candidate became the source (past this, nothing is undone) */
  switched?: boolean;
  /** members moved already (a resumed flow skips them) */
  moved?: string[];
  /** members that could not be moved: id → reason */
  failed?: Record<string, string>;
}

const high = (ctx: TaskContext) => ({ timeoutMs: ctx.config.agent_call_high_timeout * 1000 });

/** A member of the replication set by id; one deleted meanwhile fails the step. */
export async function liveMember(ctx: TaskContext, id: string): Promise<InstanceRow> {
  const r = await getInstanceRow(ctx.db, id, { live: true });
  if (!r) throw new Error(`Instance ${id} is gone.`);
  return r;
}

/** Records the replicas to move, nothing moved or failed yet. */
export async function recordMembers(s: StepContext<SwitchData>, replicaIds: string[]): Promise<void> {
  s.data.replicaIds = replicaIds;
  s.data.moved = [];
  s.data.failed = {};
  await s.save();
}

/** `member` replicates from `source` with a new account made on it for that member. */
export async function attachTo(ctx: TaskContext, source: InstanceRow, member: string, restart: boolean): Promise<void> {
  const snap = await guestOf(ctx, source.id).get_replication_snapshot({ snapshot_info: { replica_id: member }, replica_source_config: null }, high(ctx));
  const master: ReplicationSource = { host: sourceHost(source), port: snap.port, user: snap.replication_user.name, password: snap.replication_user.password };
  await guestOf(ctx, member).attach_replica({ replica_info: { master }, slave_config: null, restart }, high(ctx));
  await updateInstance(ctx.db, member, { slave_of_id: source.id });
}

/** The step that makes the candidate the source: it leaves replication and takes writes. */
export function enableAsSource<D extends SwitchData>(ctx: TaskContext, candidateOf: (s: StepContext<D>) => string): Step<D> {
  return {
    name: 'enable_as_source',
    run: async (s) => {
      const c = candidateOf(s);
      const guest = guestOf(ctx, c);
      await guest.detach_replica({ for_failover: true }, high(ctx));
      await guest.enable_as_master({ replica_source_config: null }, high(ctx));
      await guest.make_read_only({ read_only: false }, high(ctx));
      await updateInstance(ctx.db, c, { slave_of_id: null });
      s.data.switched = true;
      await s.save();
    },
  };
}

/** The step that moves every replica but the candidate to it; one that cannot be moved is noted in `failed`. */
export function moveReplicas<D extends SwitchData>(ctx: TaskContext, candidateOf: (s: StepContext<D>) => string): Step<D> {
  return {
    name: 'move_replicas',
    run: async (s) => {
      const candidate = await liveMember(ctx, candidateOf(s));
      for (const id of s.data.replicaIds ?? []) {
        if (id === candidate.id || s.data.moved!.includes(id) || s.data.failed![id]) continue;
        try {
          await guestOf(ctx, id).detach_replica({ for_failover: true }, high(ctx));
          await attachTo(ctx, candidate, id, true);
          s.data.moved!.push(id);
        } catch (err) {
          s.data.failed![id] = (err as Error).message;
        }
        await s.save();
      }
    },
  };
}

/** The flow is done: each member's task NONE, or `errorTask` with a fault (`message`) for one that could not be moved. */
export async function settleMembers(
  ctx: TaskContext,
  members: string[],
  failed: Record<string, string> | undefined,
  errorTask: InstanceTask,
  message: (reason: string) => string,
): Promise<void> {
  for (const id of members) {
    const reason = failed?.[id];
    if (reason) {
      await recordFault(ctx.db, id, message(reason), reason);
      await setTask(ctx.db, id, errorTask);
    } else {
      await setTask(ctx.db, id, Tasks.NONE);
    }
  }
}

/** The flow failed: the fault on the instance it runs on, each member's task back to NONE, or `errorTask` where `erred`. */
export async function failMembers(
  ctx: TaskContext,
  s: StepContext<SwitchData>,
  fault: string,
  error: Error,
  members: string[],
  erred: (id: string) => boolean,
  errorTask: InstanceTask,
): Promise<void> {
  await recordFault(ctx.db, s.instanceId, `${fault}: ${error.message}`, error.stack ?? error.message);
  for (const id of members) await setTask(ctx.db, id, erred(id) ? errorTask : Tasks.NONE);
}
