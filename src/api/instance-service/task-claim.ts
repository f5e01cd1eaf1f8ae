// The claim of an action on existing instances: each member's task taken by compare-and-set (all
// or none), then the quota; given back, each member to the task and columns it had.
import { QuotaExceededError } from '../../common/errors.js';
import type { InstanceTask } from '../../common/instance-tasks.js';
import { giveTaskBack, takeTasks, type TakenTask, type TaskColumns } from '../../db/instances.js';
import { changeUsage, giveBack, quotaLimits } from '../../db/quotas.js';
import { takesQuota, usageOf, type Claim, type InstanceServiceDeps, type Member } from './claim.js';
import { undoAll, type UndoStep } from './failure.js';
import { refuse, type Refusal } from './refusal.js';

export interface TaskClaimSpec {
  projectId: string;
  members: Member[];
  task: InstanceTask;
  from: readonly InstanceTask[];
  set: TaskColumns;
  refusal: Refusal;
}

export function taskClaim(deps: InstanceServiceDeps, spec: TaskClaimSpec): Claim {
  const ids = spec.members.map((m) => m.id);
  let taken: TakenTask[] = [];
  const tasksBack = (of: string[]): UndoStep[] =>
    taken.filter((m) => of.includes(m.id)).map((m) => [`the task of ${m.id}`, () => giveTaskBack(deps.db, m, spec.task)]);

  return {
    ids,
    async take() {
      const result = await takeTasks(deps.db, ids, spec.task, spec.from, spec.set);
      if ('busy' in result) return refuse(deps.db, spec.refusal, result.busy, ids.length);
      taken = result.taken;
      const usage = usageOf(spec.members);
      if (!takesQuota(usage)) return;
      let over;
      try {
        over = await changeUsage(deps.db, spec.projectId, usage, await quotaLimits(deps.db, spec.projectId, deps.quotaDefaults));
      } catch (err) {
        await undoAll(deps.log, tasksBack(ids));
        throw err;
      }
      if (over.length) {
        await undoAll(deps.log, tasksBack(ids));
        throw new QuotaExceededError(over);
      }
    },
    async release(untold) {
      const usage = usageOf(spec.members, untold);
      const quota: UndoStep[] = takesQuota(usage) ? [['the quota', () => giveBack(deps.db, spec.projectId, usage)]] : [];
      await undoAll(deps.log, [...quota, ...tasksBack(untold)]);
    },
  };
}
