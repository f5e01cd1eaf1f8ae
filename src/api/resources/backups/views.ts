// Backups as Trove shows them.
import type { BackupRecord } from '../../../db/backups.js';
import { isoNaive } from '../instances/views.js';

/** Trove's backup body; a FAILED backup also says why (`fail_reason`, a trove-ts extension python-troveclient prints as it prints every field). */
export function backupView(b: BackupRecord): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: b.id,
    name: b.name,
    description: b.description,
    locationRef: b.location,
    instance_id: b.instance_id,
    created: isoNaive(b.created),
    updated: isoNaive(b.updated),
    size: b.size,
    status: b.state,
    parent_id: b.parent_id,
    project_id: b.tenant_id,
    storage_driver: b.storage_driver,
    datastore: {
      type: b.datastore_name,
      version: b.datastore_version_name,
      version_id: b.datastore_version_id,
    },
  };
  if (b.state === 'FAILED') view.fail_reason = b.fail_reason ?? null;
  return view;
}
