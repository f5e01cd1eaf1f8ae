// Wire JSON of an instance's maintenance settings (trove-ts extension); times in UTC, as Trove writes them.
import { formatWindow, nextStart, openWindow, windowParts, type MaintenanceWindow } from '../../../common/maintenance-window.js';
import type { DatastoreVersionRow } from '../../../db/datastores.js';
import type { InstanceMaintenanceRecord } from '../../../db/instance-maintenance.js';
import { isoNaive } from '../instances/views.js';

export function windowOfRecord(m: InstanceMaintenanceRecord | undefined): MaintenanceWindow | undefined {
  return m && m.window_start !== null && m.window_duration !== null ? { start: m.window_start, duration: m.window_duration } : undefined;
}

export function maintenanceView(instanceId: string, m: InstanceMaintenanceRecord | undefined, pending: DatastoreVersionRow[], now = new Date()) {
  const w = windowOfRecord(m);
  const auto = m?.auto_minor_version_upgrade ?? false;
  return {
    instance_id: instanceId,
    window: w ? formatWindow(w) : null,
    ...(w ? windowParts(w) : { day_of_week: null, start_time: null, duration: null }),
    window_open: w ? Boolean(openWindow(w, now)) : false,
    next_window_start: w ? isoNaive(nextStart(w, now)) : null,
    auto_minor_version_upgrade: auto,
    /** the version the next window upgrades to (the newest pending patch release), when automatic upgrades are on */
    pending_upgrade: auto ? (pending.at(-1)?.name ?? null) : null,
    storage_driver: m?.storage_driver ?? null,
    last_attempt: m?.last_attempt_at
      ? {
          at: isoNaive(m.last_attempt_at),
          from_version: m.last_from_version,
          to_version: m.last_target_version,
          result: m.last_result,
          fault: m.last_fault,
        }
      : null,
    last_skip: m?.last_skip_at ? { at: isoNaive(m.last_skip_at), reason: m.last_skip_reason } : null,
  };
}

export function pendingUpgradeView(v: DatastoreVersionRow) {
  return { id: v.id, name: v.name, version: v.version ?? v.name };
}
