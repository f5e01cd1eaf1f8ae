// [DEFAULT] keys of trove-taskmanager (Trove's names where Trove has them).
import { z } from 'zod';
import { opt } from '../common/config/schema.js';
import { computeDriverSection } from '../clients/config.js';
import { TROVE_DEFAULT_KEYS } from '../rpc/secure.js';
import { DEFAULT_LOG_ARCHIVE_CONTAINER } from '../common/log-archive-names.js';
import { instanceMetricsDefaults } from '../common/metrics/config.js';

export const taskmanagerDefaults = z.object({
  ...computeDriverSection.shape,
  /** Seconds a new instance may take from POST to the guest's first healthy report. */
  usage_timeout: opt.int(900, 10),
  /** The same for an instance restored from a backup. */
  restore_usage_timeout: opt.int(3600, 10),
  volume_time_out: opt.int(60, 5),
  server_delete_time_out: opt.int(60, 5),
  state_change_wait_time: opt.int(180, 5),
  resize_time_out: opt.int(900, 10),
  reboot_time_out: opt.int(60, 5),
  agent_call_low_timeout: opt.int(15, 1),
  agent_call_high_timeout: opt.int(180, 1),
  /** Seconds between heartbeats the guests send (given to them in their config). */
  report_interval: opt.int(30, 1),
  /** Seconds between the taskmanager's sweeps of server states and unowned flows. */
  server_sync_interval: opt.int(20, 1),
  /** Secret that seals a pending flow's user passwords in the database. Change it. */
  taskmanager_rpc_encr_key: opt.str(TROVE_DEFAULT_KEYS.taskmanager_rpc_encr_key),
  log_level: opt.str('info'),
  /** (trove-ts) Seconds a taskmanager's claim on a running flow lasts without renewal; after that
   * another taskmanager resumes the flow. */
  flow_lease_seconds: opt.int(60, 2),
  /** The key every guest wraps its backups' data keys with (Trove's name and default: change it;
   * '' = backups are not encrypted). Given to guests in their guest_info. */
  backup_aes_cbc_key: opt.str('default_aes_cbc_key'),
  /** (trove-ts) Seconds one member's guest may take to upgrade its engine (stop, switch binaries, the engine's upgrade step, start). */
  upgrade_timeout: opt.int(1800, 10),
  /** (trove-ts) Seconds a backup may run before it is marked FAILED. */
  backup_timeout: opt.int(6 * 3600, 10),
  /** (trove-ts) The container of the guests' archived transaction logs (their log_archive_container):
   * an instance's archive goes with the instance (compute_driver = local, where guests archive). */
  log_archive_container: opt.str(DEFAULT_LOG_ARCHIVE_CONTAINER),
  /** Seconds without a guest heartbeat after which a running backup is marked FAILED. */
  agent_heartbeat_expiry: opt.int(90, 1),
  /** (trove-ts) Seconds between the taskmanager's passes over backup schedules (due runs, retention). */
  backup_schedule_interval: opt.int(30, 1),
  /** (trove-ts) Seconds between the taskmanager's passes over maintenance windows (automatic minor upgrades). */
  maintenance_interval: opt.int(60, 1),
  /** The API's key, read here for scheduled backups: backups per project unless `quotas` says otherwise. */
  max_backups_per_tenant: opt.int(50, -1),
  /** The API's key, read here for scheduled backups: their container when no backup strategy names one. */
  backup_swift_container: opt.str('database_backups'),
  /** Trove's switch for the periodic trove.instance.exists events: any value (Trove names its
   * transformer class, e.g. trove.extensions.mgmt.instances.models.NotificationTransformer) turns
   * them on; '' = none. They go through [oslo_messaging_notifications]. */
  exists_notification_transformer: opt.str(''),
  /** Seconds between trove.instance.exists passes (and each one's audit period). */
  exists_notification_interval: opt.int(3600, 1),
  /** The service_id of each datastore manager's usage events, `manager:id,...` (Trove's defaults; a
   * manager not listed gets 'unknown-service-id-error', as in Trove). */
  notification_service_id: opt
    .str(
      'mysql:2f3ff068-2bfb-4f70-9a9d-a6bb65bc084b,percona:fd1723f5-68d2-409c-994f-a4a197892a17,pxc:75a628c3-f81b-4ffb-b10a-4087c26bc854,' +
        'redis:b216ffc5-1947-456c-a4cf-70f94c05f7d0,cassandra:459a230d-4e97-4344-9067-2a54a310b0ed,couchbase:fa62fe68-74d9-4779-a24e-36f19602c415,' +
        'mongodb:c8c907af-7375-456f-b929-b637ff9209ee,postgresql:ac277e0d-4f21-40aa-b347-1ea31e571720,couchdb:f0a9ab7b-66f7-4352-93d7-071521d44c7c,' +
        'vertica:a8d805ae-a3b2-c4fd-gb23-b62cee5201ae,db2:e040cd37-263d-4869-aaa6-c62aa97523b5,mariadb:7a4f82cc-10d2-4bc6-aadc-d9aacc2a3cb5',
    )
    .refine((v) => v.split(',').every((p) => !p.trim() || /^[^:\s]+:\S+$/.test(p.trim())), 'expected manager:id,manager:id,...'),
  /** The region of usage events for an instance that records none (Trove's CONF.region). */
  os_region_name: opt.str('RegionOne'),
  /** The API's key, read here for storage autoscaling: volume GB per project unless `quotas` says otherwise. */
  max_volumes_per_tenant: opt.int(40, -1),
  /** Storage autoscaling's keys (autoscale_*), and the metrics and alarms keys beside them. */
  ...instanceMetricsDefaults.shape,
});

export type TaskmanagerConfig = z.output<typeof taskmanagerDefaults>;

/** [<datastore manager>] tcp_ports: the ports the instance's security group opens. */
export const datastorePortsSection = z.object({
  tcp_ports: opt.list([]),
});
