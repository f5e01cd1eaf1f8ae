// The claim of a create: the new instances stored in BUILD with their quota in one transaction
// (413: nothing stored); given back, an instance the taskmanager was not told about shows ERROR
// with a fault saying why (it stays listed, and can be deleted) and its quota is released.
import { QuotaExceededError } from '../../common/errors.js';
import { Tasks } from '../../common/instance-tasks.js';
import { scrubSecrets } from '../../common/log.js';
import { insertInstancesWithUsage, recordFault, setTask, type NewInstance } from '../../db/instances.js';
import { giveBack, quotaLimits, type QuotaDeltas } from '../../db/quotas.js';
import { takesQuota, usageOf, type Claim, type InstanceServiceDeps } from './claim.js';
import { CastFailure, undoAll, type UndoStep } from './failure.js';

export interface NewMember extends NewInstance {
  usage: QuotaDeltas;
}

function fault(cause: unknown): { message: string; details: string } {
  const err = cause instanceof CastFailure ? cause.cause : cause;
  const details = scrubSecrets(err instanceof Error ? err.message : String(err));
  if (cause instanceof CastFailure) return { message: 'The taskmanager could not be reached to build the instance.', details };
  return { message: 'The instance was not built: a step before its build failed.', details };
}

export function creationClaim(deps: InstanceServiceDeps, projectId: string, instances: NewMember[]): Claim {
  const members = instances.map((i) => ({ id: i.id, usage: i.usage }));
  return {
    ids: members.map((m) => m.id),
    async take() {
      const limits = await quotaLimits(deps.db, projectId, deps.quotaDefaults);
      const rows = instances.map(({ usage: _usage, ...row }) => row);
      const over = await insertInstancesWithUsage(deps.db, projectId, rows, usageOf(members), limits);
      if (over.length) throw new QuotaExceededError(over);
    },
    async release(untold, cause) {
      const { message, details } = fault(cause);
      const failed: UndoStep[] = untold.map((id) => [
        `the build of ${id}`,
        async () => {
          await setTask(deps.db, id, Tasks.BUILDING_ERROR_SERVER, [Tasks.BUILDING]);
          await recordFault(deps.db, id, message, details);
        },
      ]);
      const usage = usageOf(members, untold);
      const quota: UndoStep[] = takesQuota(usage) ? [['the quota', () => giveBack(deps.db, projectId, usage)]] : [];
      await undoAll(deps.log, [...failed, ...quota]);
    },
  };
}
