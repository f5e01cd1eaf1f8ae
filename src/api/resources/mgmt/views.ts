// Wire JSON of the management API (Trove's extensions/mgmt/*/views.py): an instance as the admin
// sees it (the detail view plus server, service and deletion fields), root history, and a
// datastore version with its datastore's name and whether it is the default.
import { parseAddresses, type InstanceRecord } from '../../../db/instances.js';
import type { DatastoreRow, DatastoreVersionRow } from '../../../db/datastores.js';
import type { RootHistoryRow } from '../../../db/root-history.js';
import type { InstanceViewRecord } from '../../../db/instance-views.js';
import { serviceStatusFromCode } from '../../../common/service-status.js';
import { detailView, isoNaive, type ViewInputs, type ViewOptions } from '../instances/views.js';

/**
 * Trove's MgmtInstanceView: the detail view plus `server` (from trove-ts's own records: no Nova
 * call per request; trove-ts keeps no hypervisor host, so `host` is null), `service_status`,
 * `tenant_id`, `deleted`, `deleted_at`, `task_description`, and trove-ts's `guest_agent` ({version,
 * rpc_version}). A deleted instance shows SHUTDOWN.
 */
export function mgmtInstanceView(r: InstanceViewRecord, inputs: ViewInputs, o: ViewOptions): Record<string, unknown> {
  const out = detailView(r, inputs, { ...o, isAdmin: true });
  if (r.deleted) out.status = 'SHUTDOWN';
  out.server = r.compute_instance_id ? { id: r.compute_instance_id, name: r.name, status: r.server_status, tenant_id: r.tenant_id, host: null } : null;
  out.service_status = r.service_status_id === null ? null : serviceStatusFromCode(r.service_status_id).api;
  out.tenant_id = r.tenant_id;
  out.deleted = r.deleted;
  out.deleted_at = isoNaive(r.deleted_at);
  out.task_description = r.task_description;
  // trove-ts: the guest agent's version as its heartbeats report it (null: none reported, an agent that speaks RPC 1.1)
  out.guest_agent = r.agent_version || r.agent_rpc_version ? { version: r.agent_version, rpc_version: r.agent_rpc_version } : null;
  return out;
}

/**
 * Trove's MgmtInstanceDetailView: adds the server's addresses, the volume as trove-ts recorded it
 * (no Cinder call: `status` and `created_at` are null), `guest_status`, and root history.
 */
export function mgmtInstanceDetailView(r: InstanceRecord, inputs: ViewInputs, o: ViewOptions, root: RootHistoryRow | undefined): Record<string, unknown> {
  const out = mgmtInstanceView(r, inputs, o);
  if (out.server) (out.server as Record<string, unknown>).addresses = parseAddresses(r);
  if (root) {
    out.root_enabled = isoNaive(root.created);
    out.root_enabled_by = root.user;
  }
  out.volume = r.volume_id
    ? {
        attachments: r.compute_instance_id ? [{ server_id: r.compute_instance_id, volume_id: r.volume_id }] : [],
        availability_zone: r.availability_zone,
        created_at: null,
        id: r.volume_id,
        size: r.volume_size,
        status: null,
        used: r.volume_used || null,
        total: r.volume_size || null,
      }
    : null;
  out.guest_status = { state_description: serviceStatusFromCode(r.service_status_id).description };
  return out;
}

export function rootHistoryView(instanceId: string, root: RootHistoryRow | undefined): Record<string, unknown> {
  return {
    root_history: {
      id: instanceId,
      enabled: root ? isoNaive(root.created) : 'Never',
      user: root?.user ?? 'Nobody',
    },
  };
}

const list = (csv: string | null): string[] => (csv ? csv.split(',') : ['']);

/** Trove's mgmt DatastoreVersionView (an empty list is `[""]`, as Trove splits an empty string). */
export function mgmtVersionView(v: DatastoreVersionRow, ds: DatastoreRow | undefined): Record<string, unknown> {
  return {
    id: v.id,
    name: v.name,
    version: v.version ?? v.name,
    datastore_id: v.datastore_id,
    datastore_name: ds?.name ?? null,
    datastore_manager: v.manager,
    image: v.image_id ?? null,
    image_tags: list(v.image_tags),
    packages: list(v.packages),
    active: v.active,
    registry_ext: v.registry_ext,
    repl_strategy: v.repl_strategy,
    default: ds?.default_version_id === v.id,
  };
}
