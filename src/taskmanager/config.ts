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
  /** (trove-ts) Seconds a backup may run before it is marked FAILED. */
  backup_timeout: opt.int(6 * 3600, 10),
  /** (trove-ts) The container of the guests' archived transaction logs (their log_archive_container):
   * an instance's archive goes with the instance (compute_driver = local, where guests archive). */
  log_archive_container: opt.str(DEFAULT_LOG_ARCHIVE_CONTAINER),
  /** Seconds without a guest heartbeat after which a running backup is marked FAILED. */
  agent_heartbeat_expiry: opt.int(90, 1),
  /** (trove-ts) Seconds between the taskmanager's passes over backup schedules (due runs, retention). */
  backup_schedule_interval: opt.int(30, 1),
  /** The API's key, read here for scheduled backups: backups per project unless `quotas` says otherwise. */
  max_backups_per_tenant: opt.int(50, -1),
  /** The API's key, read here for scheduled backups: their container when no backup strategy names one. */
  backup_swift_container: opt.str('database_backups'),
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
