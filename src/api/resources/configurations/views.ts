// Wire JSON of configuration groups (Trove's configuration/views.py).
import type { ConfigValues, ConfigurationRecord, AttachedInstance } from '../../../db/configurations.js';
import { isoNaive } from '../instances/views.js';

export function configurationView(c: ConfigurationRecord): Record<string, unknown> {
  return {
    id: c.id,
    name: c.name,
    description: c.description,
    created: isoNaive(c.created),
    updated: isoNaive(c.updated),
    datastore_version_id: c.datastore_version_id,
    datastore_name: c.datastore_name,
    datastore_version_name: c.datastore_version_name,
    datastore_version_number: c.datastore_version_number ?? c.datastore_version_name,
  };
}

export function configurationDetailView(c: ConfigurationRecord, values: ConfigValues, instanceCount: number): Record<string, unknown> {
  return {
    id: c.id,
    name: c.name,
    description: c.description,
    values,
    created: isoNaive(c.created),
    updated: isoNaive(c.updated),
    instance_count: instanceCount,
    datastore_name: c.datastore_name,
    datastore_version_id: c.datastore_version_id,
    datastore_version_name: c.datastore_version_name,
    datastore_version_number: c.datastore_version_number ?? c.datastore_version_name,
  };
}

export function attachedInstanceView(i: AttachedInstance): Record<string, unknown> {
  return { id: i.id, name: i.name };
}
