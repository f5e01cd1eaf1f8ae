// Wire JSON of an instance: the summary (list) and detail (show/create) views of Trove.
import { parseAccess, parseAddresses } from '../../../db/instances.js';
import type { InstanceSummaryRecord, InstanceViewRecord } from '../../../db/instance-views.js';
import { resourceLinks, type LinkBase } from '../../links.js';
import { instanceStatus, operatingStatus, type StatusInputs } from './status.js';

export interface ViewInputs extends StatusInputs {
  datastore: { name: string } | undefined;
  version: { name: string; version: string | null } | undefined;
  configurationName?: string | undefined;
  replicaIds?: string[];
}

export interface ViewOptions {
  base: LinkBase;
  isAdmin: boolean;
  volumeSupport: boolean;
  region: string;
}

/** Naive UTC ISO without fraction, as Trove prints datetimes. */
export function isoNaive(d: Date | string | null | undefined): string | null {
  if (d === null || d === undefined) return null;
  return new Date(d).toISOString().replace(/\.\d{3}Z$/, '');
}

export function summaryView(r: InstanceSummaryRecord, inputs: ViewInputs, o: ViewOptions): Record<string, unknown> {
  const addresses = parseAddresses(r);
  const access = parseAccess(r);
  const out: Record<string, unknown> = {
    id: r.id,
    name: r.name,
    status: instanceStatus(r, inputs),
    operating_status: operatingStatus(r, inputs),
    links: resourceLinks(o.base, 'instances', r.id),
    flavor: { id: r.flavor_id, links: resourceLinks(o.base, 'flavors', r.flavor_id) },
    datastore: { type: inputs.datastore?.name ?? null, version: inputs.version?.name ?? null },
    region: r.region_id ?? o.region,
    access: access ? { is_public: access.is_public, allowed_cidrs: access.allowed_cidrs } : { is_public: addresses.some((a) => a.type === 'public') },
  };
  if (o.volumeSupport && r.volume_size !== null) out.volume = { size: r.volume_size };
  if (addresses.length) {
    out.ip = addresses.map((a) => a.address);
    out.addresses = addresses;
  }
  if (r.slave_of_id) out.replica_of = { id: r.slave_of_id, links: resourceLinks(o.base, 'instances', r.slave_of_id) };
  if (inputs.replicaIds?.length) {
    out.replicas = inputs.replicaIds.map((id) => ({ id, links: resourceLinks(o.base, 'instances', id) }));
  }
  if (o.isAdmin) out.tenant_id = r.tenant_id;
  return out;
}

export function detailView(r: InstanceViewRecord, inputs: ViewInputs, o: ViewOptions): Record<string, unknown> {
  const out = summaryView(r, inputs, o);
  (out.datastore as Record<string, unknown>).version_number = inputs.version?.version ?? inputs.version?.name ?? null;
  out.created = isoNaive(r.created);
  out.updated = isoNaive(r.updated);
  out.service_status_updated = isoNaive(r.service_status_updated);
  if (r.fault_message) {
    out.fault = {
      message: r.fault_message,
      created: isoNaive(r.fault_created),
      ...(o.isAdmin ? { details: r.fault_details ?? '' } : {}),
    };
  }
  if (r.configuration_id) {
    out.configuration = {
      id: r.configuration_id,
      name: inputs.configurationName ?? null,
      links: resourceLinks(o.base, 'configurations', r.configuration_id),
    };
  }
  if (r.locality) out.locality = r.locality;
  if (o.volumeSupport && r.volume_size !== null && r.volume_used !== null) {
    const volume = out.volume as Record<string, unknown>;
    volume.used = r.volume_used;
    volume.used_percent = Math.round((r.volume_used / r.volume_size) * 10000) / 100;
  }
  if (!o.volumeSupport && r.volume_used !== null) out.local_storage = { used: r.volume_used };
  if (r.cluster_id) out.cluster_id = r.cluster_id;
  if (r.shard_id) out.shard_id = r.shard_id;
  if (o.isAdmin) {
    out.server_id = r.compute_instance_id;
    out.volume_id = r.volume_id;
    out.encrypted_rpc_messaging = Boolean(r.encrypted_key);
  }
  return out;
}
