// Trove's instance task states (instances.task_id / task_description), with their codes.

export interface InstanceTask {
  code: number;
  action: string;
  description: string;
  isError: boolean;
}

function task(code: number, action: string, description: string, isError = false): InstanceTask {
  return { code, action, description, isError };
}

export const Tasks = {
  NONE: task(0x01, 'NONE', 'No tasks for the instance.'),
  DELETING: task(0x02, 'DELETING', 'Deleting the instance.'),
  REBOOTING: task(0x03, 'REBOOTING', 'Rebooting the instance.'),
  RESIZING: task(0x04, 'RESIZING', 'Resizing the instance.'),
  BUILDING: task(0x05, 'BUILDING', 'The instance is building.'),
  MIGRATING: task(0x06, 'MIGRATING', 'Migrating the instance.'),
  RESTART_REQUIRED: task(0x07, 'RESTART_REQUIRED', 'Instance requires a restart.'),
  PROMOTING: task(0x08, 'PROMOTING', 'Promoting the instance to replica source.'),
  EJECTING: task(0x09, 'EJECTING', 'Ejecting the replica source.'),
  LOGGING: task(0x0a, 'LOGGING', 'Transferring guest logs.'),
  DETACHING: task(0x0b, 'DETACHING', 'Detaching the instance from replica source.'),
  UPDATING: task(0x0c, 'UPDATING', 'Updating the instance.'),
  UPGRADING: task(0x59, 'UPGRADING', 'Upgrading the instance.'),
  BUILDING_ERROR_DNS: task(0x50, 'BUILDING', 'Build error: DNS.', true),
  BUILDING_ERROR_SERVER: task(0x51, 'BUILDING', 'Build error: Server.', true),
  BUILDING_ERROR_VOLUME: task(0x52, 'BUILDING', 'Build error: Volume.', true),
  BUILDING_ERROR_SEC_GROUP: task(0x53, 'BUILDING', 'Build error: Secgroup or rule.', true),
  BUILDING_ERROR_REPLICA: task(0x54, 'BUILDING', 'Build error: Replica.', true),
  PROMOTION_ERROR: task(0x55, 'PROMOTING', 'Replica Promotion Error.', true),
  EJECTION_ERROR: task(0x56, 'EJECTING', 'Replica Source Ejection Error.', true),
  GROWING_ERROR: task(0x57, 'GROWING', 'Growing Cluster Error.', true),
  SHRINKING_ERROR: task(0x58, 'SHRINKING', 'Shrinking Cluster Error.', true),
  UPGRADING_ERROR: task(0x5a, 'UPGRADING', 'Upgrading Cluster Error.', true),
  BUILDING_ERROR_TIMEOUT_GA: task(0x5b, 'ERROR', 'Build error: guestagent timeout.', true),
  BUILDING_ERROR_PORT: task(0x5c, 'BUILDING', 'Build error: Port.', true),
  UPDATING_ERROR_ACCESS: task(0x5d, 'UPDATING', 'Update error: Access.', true),
  /** trove-ts: a lifecycle action (resize, restart, ...) failed; the fault says which. */
  ACTION_ERROR: task(0x5e, 'ERROR', 'Action error.', true),
} as const;

export type TaskName = keyof typeof Tasks;

const byCode = new Map<number, InstanceTask>(Object.values(Tasks).map((t) => [t.code, t]));

export function taskFromCode(code: number | null | undefined): InstanceTask {
  return (code !== null && code !== undefined && byCode.get(code)) || Tasks.NONE;
}
