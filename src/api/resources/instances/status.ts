// An instance's API `status` and `operating_status`, derived from its task, server and service
// status (Trove's SimpleInstance.status), plus trove-ts's heartbeat window.
import { Tasks, taskFromCode } from '../../../common/instance-tasks.js';
import { ServiceStatuses, serviceStatusFromCode } from '../../../common/service-status.js';
import type { InstanceSummaryRecord } from '../../../db/instance-views.js';

export interface StatusInputs {
  backupRunning: boolean;
  /** The guest's last heartbeat is older than the configured window. */
  heartbeatStale: boolean;
}

const TASK_STATUS: Record<string, string> = {
  REBOOTING: 'REBOOT',
  RESIZING: 'RESIZE',
  UPGRADING: 'UPGRADE',
  RESTART_REQUIRED: 'RESTART_REQUIRED',
  PROMOTING: 'PROMOTE',
  EJECTING: 'EJECT',
  LOGGING: 'LOGGING',
  DETACHING: 'DETACH',
  DELETING: 'SHUTDOWN',
};

/** The status a task in progress shows (Trove's), or the task's own name when it shows none. */
export function taskStatus(r: InstanceSummaryRecord): string {
  const task = taskFromCode(r.task_id);
  if (task.code === Tasks.BUILDING.code) return 'BUILD';
  return TASK_STATUS[task.action] ?? task.action;
}

const SERVER_STATUSES = new Set(['BUILD', 'ERROR', 'REBOOT', 'RESIZE', 'ACTIVE', 'SHUTDOWN']);

export function instanceStatus(r: InstanceSummaryRecord, inputs: StatusInputs): string {
  const task = taskFromCode(r.task_id);
  if (task.isError) return 'ERROR';
  if (task.code === Tasks.BUILDING.code) return r.server_status === 'ERROR' ? 'ERROR' : 'BUILD';
  const byTask = TASK_STATUS[task.action];
  if (byTask && task.code !== Tasks.NONE.code) return byTask;
  if (inputs.backupRunning) return 'BACKUP';
  const server = r.server_status === 'VERIFY_RESIZE' ? 'RESIZE' : r.server_status;
  if (server === 'ACTIVE' && inputs.heartbeatStale) return 'SHUTDOWN';
  if (server && SERVER_STATUSES.has(server)) return server;
  return 'UNKNOWN';
}

export function operatingStatus(r: InstanceSummaryRecord, inputs: StatusInputs): string {
  const task = taskFromCode(r.task_id);
  if (task.code !== Tasks.NONE.code && task.code !== Tasks.RESTART_REQUIRED.code) return '';
  if (r.server_status !== 'ACTIVE') return '';
  if (inputs.heartbeatStale) return ServiceStatuses.SHUTDOWN.api;
  return serviceStatusFromCode(r.service_status_id).api;
}

/** Whether the guest's last word is older than `windowSeconds` (only for a settled, running server). */
export function isHeartbeatStale(r: InstanceSummaryRecord, windowSeconds: number, now = Date.now()): boolean {
  if (r.server_status !== 'ACTIVE' || r.task_id !== Tasks.NONE.code) return false;
  if (!r.service_status_updated) return true;
  const updated = r.service_status_updated;
  return now - (updated instanceof Date ? updated.getTime() : new Date(updated).getTime()) > windowSeconds * 1000;
}
