// [DEFAULT] keys the API reads (Trove's names), and [oslo_policy].
import { z } from 'zod';
import { opt } from '../common/config/schema.js';
import { instanceMetricsDefaults } from '../common/metrics/config.js';

export const apiDefaults = z.object({
  bind_host: opt.str('0.0.0.0'),
  bind_port: opt.int(8779, 0, 65535),
  /** Processes serving the API (Trove's trove_api_workers); 0: one per CPU, Trove's default. The all-in-one runs one. */
  trove_api_workers: opt.int(0, 0, 256),
  /** Datastore used when a create call names none ('' = none: the call must name one). */
  default_datastore: opt.str(''),
  trove_volume_support: opt.bool(true),
  max_accepted_volume_size: opt.int(10, 1),
  /** Trove's admin_roles: when set, these roles make a caller an administrator; empty: the policy's context_is_admin decides. */
  admin_roles: opt.list([]),
  max_instances_per_tenant: opt.int(10, -1),
  max_ram_per_tenant: opt.int(-1, -1),
  max_volumes_per_tenant: opt.int(40, -1),
  max_backups_per_tenant: opt.int(50, -1),
  http_get_rate: opt.int(200, 0),
  http_post_rate: opt.int(200, 0),
  http_put_rate: opt.int(200, 0),
  http_delete_rate: opt.int(200, 0),
  http_mgmt_post_rate: opt.int(200, 0),
  /** Largest accepted request body, bytes (trove-ts; Trove relies on its WSGI server). */
  max_request_body_size: opt.int(1024 * 1024, 1024),
  /** Scheme written into `links` hrefs. Trove hardcodes https; keep it unless you know your clients. */
  links_scheme: opt.str('https'),
  log_level: opt.str('info'),
  /** Seconds without a guest heartbeat after which an instance shows SHUTDOWN (Trove's agent_heartbeat_expiry). */
  agent_heartbeat_expiry: opt.int(90, 1),
  os_region_name: opt.str('RegionOne'),
  /** Page size cap for paginated lists (Trove: 20). */
  paginate_max_limit: opt.int(20, 1, 1000),
  /** Backups per page of GET /backups (Trove's backups_page_size). */
  backups_page_size: opt.int(20, 1, 1000),
  /** The container backups go to when neither the call nor a backup strategy names one. */
  backup_swift_container: opt.str('database_backups'),
  /** Seconds to wait for a guest's answer to a quick call (lists, users, databases). */
  agent_call_low_timeout: opt.int(15, 1),
  /** Seconds to wait for a guest's answer to a slow call. */
  agent_call_high_timeout: opt.int(180, 1),
  /** (trove-ts) The guest agent package POST /mgmt/instances/{id}/upgrade installs when the call names
   * none (an http(s) URL, e.g. a Swift object's; with its sha256 in guest_agent_package_checksum). */
  guest_agent_package_location: opt.str(''),
  guest_agent_package_checksum: opt.str(''),
  /** The instance metrics, alarms and autoscaling keys (trove-ts extension): the history served, the default thresholds. */
  ...instanceMetricsDefaults.shape,
});

export type ApiDefaults = z.output<typeof apiDefaults>;

export const osloPolicySection = z.object({
  policy_file: opt.optStr(),
});

/** [<datastore manager>] names the API refuses before asking the guest (Trove's ignore_users / ignore_dbs). */
export const datastoreNamesSection = z.object({
  ignore_users: opt.list(['os_admin', 'root']),
  ignore_dbs: opt.list([]),
});

export type DatastoreNames = z.output<typeof datastoreNamesSection>;

/**
 * [<datastore manager>] replication_strategy (Trove's key): set, the datastore's instances may have
 * replicas (POST /instances with replica_of); empty, Trove's "Replication is not supported".
 * A datastore version's own repl_strategy (trove-manage --repl-strategy) also turns it on.
 */
export const datastoreReplicationSection = z.object({
  replication_strategy: opt.str(''),
});

/** The per-project quota limits the [DEFAULT] max_*_per_tenant keys give. */
export function quotaDefaultsOf(config: ApiDefaults): Record<'instances' | 'ram' | 'volumes' | 'backups', number> {
  return {
    instances: config.max_instances_per_tenant,
    ram: config.max_ram_per_tenant,
    volumes: config.max_volumes_per_tenant,
    backups: config.max_backups_per_tenant,
  };
}
