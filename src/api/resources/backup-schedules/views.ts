// Backup schedules on the wire (times are UTC, written as Trove writes its times).
import type { BackupScheduleRecord } from '../../../db/backup-schedules.js';
import { isoNaive } from '../instances/views.js';

export function scheduleView(s: BackupScheduleRecord): Record<string, unknown> {
  return {
    id: s.id,
    name: s.name,
    instance_id: s.instance_id,
    project_id: s.tenant_id,
    cron: s.cron,
    retention: s.retention,
    enabled: s.enabled,
    next_run_at: isoNaive(s.next_run_at),
    last_run_at: isoNaive(s.last_run_at),
    last_backup_id: s.last_backup_id,
    last_error: s.last_error,
    storage_driver: s.storage_driver,
    created: isoNaive(s.created),
    updated: isoNaive(s.updated),
  };
}
