// Attaching and detaching an instance's configuration group (PUT /instances/{id} with
// `configuration`), and re-applying a changed group to the instances using it. The API checks
// and takes the instance's task; the taskmanager has the guest write and apply the values, and
// the API answers once they are applied (bounded), as Trove's users expect: a client reading the
// engine's variable right after the call sees the new value, and a group detached can be deleted.
import type { Context } from 'koa';
import type { Logger } from '../../../common/log.js';
import { BadRequestError, NotFoundError, UnprocessableEntityError } from '../../../common/errors.js';
import { Tasks } from '../../../common/instance-tasks.js';
import { instancesInTask, setTask, type InstanceRecord } from '../../../db/instances.js';
import { getConfiguration, instancesUsing } from '../../../db/configurations.js';
import { requestContext, type ApiDeps } from '../../deps.js';
import { assertCanAct } from '../instances/availability.js';
import { runningBackupOf } from '../../../db/backups.js';
import { ACTIONABLE, instanceService } from '../../instance-service/service.js';

/**
 * The group attached or detached (written with the task, put back if the taskmanager cannot be
 * told: 503, the group as it was), once the instance accepts an action (Trove's 422 otherwise).
 */
async function change(deps: ApiDeps, row: InstanceRecord, configurationId: string | null, send: () => Promise<unknown>): Promise<void> {
  assertCanAct(row, Boolean(await runningBackupOf(deps.db, row.id)));
  await instanceService(deps).act({
    what: configurationId ? 'apply_configuration' : 'unassign_configuration',
    projectId: row.tenant_id,
    members: [{ id: row.id }],
    task: Tasks.UPDATING,
    set: { configuration_id: configurationId },
    casts: [{ send }],
    unreachable: () => 'The taskmanager could not be reached; the configuration group was not changed.',
  });
}

export async function attachConfiguration(ctx: Context, deps: ApiDeps, row: InstanceRecord, configurationId: string): Promise<void> {
  const context = requestContext(ctx);
  if (row.configuration_id) {
    throw new UnprocessableEntityError(`Instance ${row.id} already has a Configuration Group attached: ${row.configuration_id}.`);
  }
  const group = await getConfiguration(deps.db, configurationId, context.isAdmin ? undefined : context.projectId);
  if (!group) throw new NotFoundError(`Configuration group id: ${configurationId} could not be found.`);
  if (group.datastore_version_id !== row.datastore_version_id) {
    throw new BadRequestError(
      `Datastore Version on Configuration ${group.datastore_version_id} does not match the Datastore Version on the instance ${row.datastore_version_id}.`,
    );
  }
  await change(deps, row, group.id, () =>
    deps.taskmanager.apply_configuration({
      instance_id: row.id,
      configuration_id: group.id,
      previous_configuration_id: null,
      restart_required: row.task_id === Tasks.RESTART_REQUIRED.code,
      changed: null,
    }),
  );
  await untilApplied(deps, [row.id]);
}

/**
 * Waits until the taskmanager has applied the change to each instance (its task is no longer
 * UPDATING), for at most two guest calls' time; past that the call answers anyway and the change
 * goes on (the instance shows UPDATING until it is done).
 */
async function untilApplied(deps: ApiDeps, ids: string[]): Promise<void> {
  const deadline = Date.now() + 2 * deps.config.agent_call_low_timeout * 1000;
  let pending = ids;
  while (pending.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    pending = await instancesInTask(deps.db, pending, Tasks.UPDATING);
  }
  if (pending.length) deps.log.info({ instances: pending }, 'the configuration change is still being applied; answering before it is done');
}

/** Detaching an instance without a group is a no-op, as in Trove. */
export async function detachConfiguration(deps: ApiDeps, row: InstanceRecord): Promise<void> {
  if (!row.configuration_id) return;
  const previous = row.configuration_id;
  await change(deps, row, null, () =>
    deps.taskmanager.unassign_configuration({
      instance_id: row.id,
      previous_configuration_id: previous,
      restart_required: row.task_id === Tasks.RESTART_REQUIRED.code,
    }),
  );
  await untilApplied(deps, [row.id]);
}

/**
 * After a group's values changed: each instance using it gets them again. An instance busy with
 * another task is skipped (logged); dropped values need a restart to leave the engine.
 */
export async function refreshInstances(deps: ApiDeps, log: Logger, configurationId: string, change: { changed: string[]; dropped: string[] }): Promise<void> {
  if (change.changed.length === 0 && change.dropped.length === 0) return;
  const { items } = await instancesUsing(deps.db, configurationId);
  const told: string[] = [];
  for (const inst of items) {
    const wasPending = inst.task_id === Tasks.RESTART_REQUIRED.code;
    if (!(await setTask(deps.db, inst.id, Tasks.UPDATING, ACTIONABLE))) {
      log.warn({ instance_id: inst.id, configuration_id: configurationId }, 'instance busy: the changed configuration group was not re-applied to it');
      continue;
    }
    try {
      await deps.taskmanager.apply_configuration({
        instance_id: inst.id,
        configuration_id: configurationId,
        previous_configuration_id: configurationId,
        restart_required: wasPending || change.dropped.length > 0,
        changed: change.changed,
      });
      told.push(inst.id);
    } catch (err) {
      await setTask(deps.db, inst.id, Tasks.RESTART_REQUIRED, [Tasks.UPDATING]);
      log.warn({ instance_id: inst.id, err: (err as Error).message }, 'the taskmanager could not be told to re-apply the configuration group');
    }
  }
  await untilApplied(deps, told);
}
