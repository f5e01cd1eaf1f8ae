// The built-in policy: Trove's rule names and defaults (trove/common/policies/*.py), so the service
// works without a policy file; etc/policy.yaml lists the same rules for operators to edit.
// One deliberate difference: every write action uses `admin_or_writer`, which refuses a token whose
// only role in the project is `reader` (Trove lets any project member write). Setting
// `admin_or_writer` to "rule:admin_or_owner" in the policy file restores Trove's behaviour exactly.

const OWNER = 'rule:admin_or_owner';
const WRITER = 'rule:admin_or_writer';
const ADMIN = 'rule:admin';
const ANYONE = '';

export const DEFAULT_RULES: Readonly<Record<string, string>> = {
  context_is_admin: 'role:admin',
  admin: 'role:admin or is_admin:True',
  admin_or_owner: 'rule:admin or project_id:%(tenant)s',
  default: OWNER,
  // trove-ts
  reader_only: 'role:reader and not role:member and not role:admin',
  admin_or_writer: 'rule:admin or (project_id:%(tenant)s and not rule:reader_only)',
  // instances.py
  'instance:create': WRITER,
  'instance:delete': WRITER,
  'instance:force_delete': WRITER,
  'instance:index': OWNER,
  'instance:detail': OWNER,
  'instance:show': OWNER,
  'instance:update': WRITER,
  'instance:edit': WRITER,
  'instance:restart': WRITER,
  'instance:resize_volume': WRITER,
  'instance:resize_flavor': WRITER,
  'instance:reset_status': ADMIN,
  'instance:promote_to_replica_source': WRITER,
  'instance:eject_replica_source': WRITER,
  'instance:configuration': OWNER,
  'instance:guest_log_list': OWNER,
  // trove-ts: Trove checks no rule for enable/disable/publish/discard (any project member)
  'instance:guest_log_action': WRITER,
  'instance:backups': OWNER,
  'instance:module_list': OWNER,
  'instance:module_apply': WRITER,
  'instance:module_remove': WRITER,
  // root.py
  'instance:extension:root:create': WRITER,
  'instance:extension:root:delete': WRITER,
  'instance:extension:root:index': OWNER,
  'cluster:extension:root:create': WRITER,
  'cluster:extension:root:delete': WRITER,
  'cluster:extension:root:index': OWNER,
  // users.py
  'instance:extension:user:create': WRITER,
  'instance:extension:user:delete': WRITER,
  'instance:extension:user:index': OWNER,
  'instance:extension:user:show': OWNER,
  'instance:extension:user:update': WRITER,
  'instance:extension:user:update_all': WRITER,
  // user_access.py
  'instance:extension:user_access:update': WRITER,
  'instance:extension:user_access:delete': WRITER,
  'instance:extension:user_access:index': OWNER,
  // databases.py
  'instance:extension:database:create': WRITER,
  'instance:extension:database:delete': WRITER,
  'instance:extension:database:index': OWNER,
  'instance:extension:database:show': OWNER,
  // clusters.py
  'cluster:create': WRITER,
  'cluster:delete': WRITER,
  'cluster:force_delete': WRITER,
  'cluster:index': OWNER,
  'cluster:show': OWNER,
  'cluster:show_instance': OWNER,
  'cluster:action': WRITER,
  'cluster:reset-status': ADMIN,
  // backups.py
  'backup:create': WRITER,
  'backup:delete': WRITER,
  'backup:index': OWNER,
  'backup:index:all_projects': 'role:admin',
  'backup:show': OWNER,
  'backup_strategy:create': WRITER,
  'backup_strategy:index': OWNER,
  'backup_strategy:delete': WRITER,
  // trove-ts extension: scheduled backups (/ts/instances/{id}/backup_schedules)
  'backup_schedule:create': WRITER,
  'backup_schedule:index': OWNER,
  'backup_schedule:show': OWNER,
  'backup_schedule:update': WRITER,
  'backup_schedule:delete': WRITER,
  // trove-ts extension: engine metrics, alarm thresholds and storage autoscaling (/ts/instances/{id}/metrics|alarms)
  'instance:metrics': OWNER,
  'instance:alarms': OWNER,
  'instance:update_alarms': WRITER,
  // trove-ts extension: maintenance windows and automatic minor upgrades (/ts/instances/{id}/maintenance|pending_upgrades)
  'instance:maintenance': OWNER,
  'instance:update_maintenance': WRITER,
  'instance:pending_upgrades': OWNER,
  // configurations.py
  'configuration:create': WRITER,
  'configuration:delete': WRITER,
  'configuration:index': OWNER,
  'configuration:show': OWNER,
  'configuration:instances': OWNER,
  'configuration:update': WRITER,
  'configuration:edit': WRITER,
  // configuration_parameters.py
  'configuration-parameter:index': OWNER,
  'configuration-parameter:show': OWNER,
  'configuration-parameter:index_by_version': OWNER,
  'configuration-parameter:show_by_version': OWNER,
  // datastores.py
  'datastore:index': ANYONE,
  'datastore:show': ANYONE,
  'datastore:delete': ADMIN,
  'datastore:version_show': ANYONE,
  'datastore:version_show_by_uuid': ANYONE,
  'datastore:version_index': ANYONE,
  'datastore:list_associated_flavors': ANYONE,
  'datastore:list_associated_volume_types': ANYONE,
  // flavors.py
  'flavor:index': ANYONE,
  'flavor:show': ANYONE,
  // limits.py
  'limits:index': OWNER,
  // modules.py
  'module:create': WRITER,
  'module:delete': WRITER,
  'module:index': OWNER,
  'module:show': OWNER,
  'module:instances': OWNER,
  'module:update': WRITER,
  'module:reapply': WRITER,
  // trove-ts: calls Trove guards with its admin-only mgmt API and quota extension.
  'instance:extension:mgmt:action': ADMIN,
  'instance:extension:mgmt:index': ADMIN,
  'instance:extension:mgmt:show': ADMIN,
  'instance:extension:mgmt:root': ADMIN,
  'instance:extension:mgmt:rpc_ping': ADMIN,
  'instance:extension:mgmt:diagnostics': ADMIN,
  'instance:extension:mgmt:hwinfo': ADMIN,
  'instance:extension:mgmt:upgrade': ADMIN,
  // named after Trove's apischema mgmt_datastore_version / mgmt_configuration
  'mgmt_datastore_version:index': ADMIN,
  'mgmt_datastore_version:show': ADMIN,
  'mgmt_datastore_version:create': ADMIN,
  'mgmt_datastore_version:edit': ADMIN,
  'mgmt_datastore_version:delete': ADMIN,
  'mgmt_configuration_parameter:index': ADMIN,
  'mgmt_configuration_parameter:show': ADMIN,
  'mgmt_configuration_parameter:create': ADMIN,
  'mgmt_configuration_parameter:update': ADMIN,
  'mgmt_configuration_parameter:delete': ADMIN,
  'quota:show': OWNER,
  'quota:update': ADMIN,
};

/**
 * Names trove-ts routes used before they followed Trove's, mapped to Trove's: an action with no rule
 * of its own is checked against the rule it was renamed to, so an operator's edit of Trove's name
 * applies to both.
 */
export const RENAMED_RULES: Readonly<Record<string, string>> = {
  'datastore:version:index': 'datastore:version_index',
  'datastore:version:show': 'datastore:version_show',
  'datastore:version:show_by_uuid': 'datastore:version_show_by_uuid',
};
