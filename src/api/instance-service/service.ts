// The instance service (the role of Trove's instance/models.py): every operation the API hands to
// the taskmanager — a create, an action, a replica operation, a delete — takes its instances
// (the task by compare-and-set, or new rows in BUILD), reserves the quota the work needs, runs
// what must happen before the cast, and casts. Any failure after the take gives everything back:
// the tasks and the columns written with them, the quota, a create's instances shown ERROR.
// A cast that does not reach the taskmanager answers 503 serviceUnavailable; a member the
// taskmanager was told about keeps what it took (its flow runs and gives it back).
import { ServiceUnavailableError } from '../../common/errors.js';
import { Tasks, type InstanceTask } from '../../common/instance-tasks.js';
import type { TaskColumns } from '../../db/instances.js';
import type { Claim, InstanceServiceDeps, Member } from './claim.js';
import { creationClaim, type NewMember } from './creation-claim.js';
import { CastFailure } from './failure.js';
import type { Refusal } from './refusal.js';
import { taskClaim } from './task-claim.js';

export type { InstanceServiceDeps, Member } from './claim.js';
export type { NewMember } from './creation-claim.js';

/** The tasks an action may start from: none in progress, or a pending restart (which it keeps if undone). */
export const ACTIONABLE: readonly InstanceTask[] = [Tasks.NONE, Tasks.RESTART_REQUIRED];

/** One message to the taskmanager, starting the work of the members it names (default: all). */
export interface Cast {
  ids?: string[];
  send(): Promise<unknown>;
}

interface Steps<P> {
  /** The verb, for the log and the default 503 message. */
  what: string;
  projectId: string;
  /** What the casts need, done after the take; its failure undoes the take and is raised as it is. */
  prepare?: () => Promise<P>;
  casts: Cast[] | ((prepared: P) => Cast[]);
  /** The 503 message, given the members not told (default: nothing was changed (<what>)). */
  unreachable?: (untold: string[]) => string;
}

export interface InstanceAction<P = undefined> extends Steps<P> {
  /** The instances whose task is taken, the one the request names first; all or none. */
  members: Member[];
  task: InstanceTask;
  /** The tasks each member may be taken from (default ACTIONABLE). */
  from?: readonly InstanceTask[];
  /** Columns written with the task (access rules, configuration group), put back on an undo. */
  set?: TaskColumns;
  refusal?: Refusal;
}

export interface InstanceCreation<P = undefined> extends Steps<P> {
  instances: NewMember[];
}

export interface InstanceService {
  act<P = undefined>(action: InstanceAction<P>): Promise<void>;
  create<P = undefined>(creation: InstanceCreation<P>): Promise<void>;
}

export function instanceService(deps: InstanceServiceDeps): InstanceService {
  return {
    act: (a) =>
      run(
        deps,
        taskClaim(deps, {
          projectId: a.projectId,
          members: a.members,
          task: a.task,
          from: a.from ?? ACTIONABLE,
          set: a.set ?? {},
          refusal: a.refusal ?? 'action',
        }),
        a,
      ),
    create: (c) => run(deps, creationClaim(deps, c.projectId, c.instances), c),
  };
}

async function run<P>(deps: InstanceServiceDeps, claim: Claim, steps: Steps<P>): Promise<void> {
  await claim.take();
  let untold = claim.ids;
  try {
    const prepared = (steps.prepare ? await steps.prepare() : undefined) as P;
    const casts = typeof steps.casts === 'function' ? steps.casts(prepared) : steps.casts;
    for (const cast of casts) {
      await cast.send().catch((err: unknown) => {
        throw new CastFailure(steps.what, err);
      });
      const told = cast.ids ?? claim.ids;
      untold = untold.filter((id) => !told.includes(id));
    }
  } catch (err) {
    await claim.release(untold, err);
    if (!(err instanceof CastFailure)) throw err;
    deps.log.error({ instance_id: claim.ids[0], err: err.cause instanceof Error ? err.cause.message : String(err.cause) }, `could not cast ${steps.what}`);
    throw new ServiceUnavailableError(steps.unreachable?.(untold) ?? `The taskmanager could not be reached; nothing was changed (${steps.what}).`, {
      cause: err,
    });
  }
}
