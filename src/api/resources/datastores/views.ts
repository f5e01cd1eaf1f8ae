// Wire JSON for datastores, versions and configuration parameters (Trove's datastore/views.py).
import type { ConfigParameterRow, DatastoreRow, DatastoreVersionRow } from '../../../db/datastores.js';
import { resourceLinks, type LinkBase } from '../../links.js';

const csv = (s: string | null): string[] =>
  s
    ? s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
    : [];

function adminFields(v: DatastoreVersionRow): Record<string, unknown> {
  return { active: v.active ? 1 : 0, packages: v.packages ?? '', image: v.image_id ?? '', image_tags: csv(v.image_tags) };
}

export function versionView(base: LinkBase, v: DatastoreVersionRow, isAdmin: boolean, withDatastore = true): Record<string, unknown> {
  return {
    id: v.id,
    name: v.name,
    version: v.version ?? v.name,
    links: resourceLinks(base, 'datastores/versions', v.id),
    ...(withDatastore ? { datastore: v.datastore_id } : {}),
    ...(isAdmin ? adminFields(v) : {}),
  };
}

export function datastoreView(base: LinkBase, ds: DatastoreRow, versions: DatastoreVersionRow[], isAdmin: boolean): Record<string, unknown> {
  return {
    id: ds.id,
    name: ds.name,
    links: resourceLinks(base, 'datastores', ds.id),
    versions: versions.map((v) => versionView(base, v, isAdmin, false)),
    ...(ds.default_version_id ? { default_version: ds.default_version_id } : {}),
  };
}

function bound(row: ConfigParameterRow, value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

export function parameterView(p: ConfigParameterRow, admin = false): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: p.name,
    datastore_version_id: p.datastore_version_id,
    restart_required: p.restart_required,
    type: p.data_type,
  };
  const max = bound(p, p.max_size);
  const min = bound(p, p.min_size);
  if (max !== undefined) out[admin ? 'max_size' : 'max'] = max;
  if (min !== undefined) out[admin ? 'min_size' : 'min'] = min;
  return out;
}
