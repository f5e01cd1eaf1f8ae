// Whether an instance accepts an action now (Trove's validate_can_perform_action), with its 422.
import { UnprocessableEntityError } from '../../../common/errors.js';
import { Tasks, taskFromCode, type InstanceTask } from '../../../common/instance-tasks.js';
import { taskStatus } from './status.js';
import { ServiceStatuses, serviceStatusFromCode } from '../../../common/service-status.js';
import type { InstanceRecord } from '../../../db/instances.js';

const READY_SERVICE = new Set<number>([
  ServiceStatuses.RUNNING.code,
  ServiceStatuses.SHUTDOWN.code,
  ServiceStatuses.CRASHED.code,
  ServiceStatuses.BLOCKED.code,
  ServiceStatuses.HEALTHY.code,
  ServiceStatuses.RESTART_REQUIRED.code,
]);

export function assertCanAct(r: InstanceRecord, backupRunning: boolean): void {
  const task = taskFromCode(r.task_id);
  let reason: string | undefined;
  if (r.server_status !== 'ACTIVE') reason = `instance status was ${r.server_status ?? 'BUILD'}`;
  else if (task.code !== Tasks.NONE.code && task.code !== Tasks.RESTART_REQUIRED.code) reason = `task status was ${task.action}`;
  else if (!READY_SERVICE.has(r.service_status_id ?? -1)) reason = `instance status was ${serviceStatusFromCode(r.service_status_id).api}`;
  else if (backupRunning) reason = 'instance status was BACKUP';
  if (reason) {
    throw new UnprocessableEntityError(`Instance ${r.id} is not currently available for an action to be performed (${reason}).`);
  }
}

/** The tasks an instance may be deleted from: none in progress, a pending restart, an error, or
 * a delete already asked for (asked again: the cast is sent again). */
export const DELETABLE: readonly InstanceTask[] = Object.values(Tasks).filter(
  (t) => t.isError || t.code === Tasks.NONE.code || t.code === Tasks.RESTART_REQUIRED.code || t.code === Tasks.DELETING.code,
);

/** Trove refuses to delete an instance that is still building (until an admin resets it); so is
 * one with another task in progress (a resize, a restart...): its flow holds the instance, and a
 * delete accepted then would do nothing. Trove's 422 wording, with the status the task shows. */
export function assertCanDelete(r: InstanceRecord): void {
  if (DELETABLE.some((t) => t.code === r.task_id)) return;
  throw new UnprocessableEntityError(`Instance ${r.id} is not ready. (Status is ${taskStatus(r)}).`);
}
