// The guest's view of its database service (service_statuses.status_id), as Trove's
// ServiceStatuses: the code, the description the guest reports in heartbeats, the API name.

export interface ServiceStatus {
  code: number;
  description: string;
  api: string;
}

function status(code: number, description: string, api: string): ServiceStatus {
  return { code, description, api };
}

export const ServiceStatuses = {
  RUNNING: status(0x01, 'running', 'ACTIVE'),
  BLOCKED: status(0x02, 'blocked', 'BLOCKED'),
  PAUSED: status(0x03, 'paused', 'SHUTDOWN'),
  SHUTDOWN: status(0x04, 'shutdown', 'SHUTDOWN'),
  CRASHED: status(0x06, 'crashed', 'SHUTDOWN'),
  FAILED: status(0x08, 'failed to spawn', 'FAILED'),
  BUILDING: status(0x09, 'building', 'BUILD'),
  PROMOTING: status(0x0a, 'promoting replica', 'PROMOTE'),
  EJECTING: status(0x0b, 'ejecting replica source', 'EJECT'),
  LOGGING: status(0x0c, 'transferring guest logs', 'LOGGING'),
  UNKNOWN: status(0x10, 'unknown', 'ERROR'),
  NEW: status(0x11, 'new', 'NEW'),
  DELETED: status(0x05, 'deleted', 'DELETED'),
  FAILED_TIMEOUT_GUESTAGENT: status(0x12, 'guestagent error', 'ERROR'),
  INSTANCE_READY: status(0x13, 'instance ready', 'BUILD'),
  RESTART_REQUIRED: status(0x14, 'restart required', 'RESTART_REQUIRED'),
  HEALTHY: status(0x15, 'healthy', 'HEALTHY'),
  UPGRADING: status(0x16, 'upgrading', 'UPGRADING'),
  RESTARTING: status(0x17, 'restarting', 'RESTARTING'),
} as const;

export type ServiceStatusName = keyof typeof ServiceStatuses;

const byDescription = new Map<string, ServiceStatus>(Object.values(ServiceStatuses).map((s) => [s.description, s]));
const byCode = new Map<number, ServiceStatus>(Object.values(ServiceStatuses).map((s) => [s.code, s]));

export function serviceStatusFromDescription(description: string): ServiceStatus | undefined {
  return byDescription.get(description);
}

export function serviceStatusFromCode(code: number | null | undefined): ServiceStatus {
  return (code !== null && code !== undefined && byCode.get(code)) || ServiceStatuses.UNKNOWN;
}
