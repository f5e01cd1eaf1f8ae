// The whole schema Trove keeps (see shared trove-api.md §6), as of Trove 18, with trove-ts's few additions
// (instances.flow_step for resumable flows). Never edit after merge: add a new migration.
import type { Knex } from 'knex';

function timestamps(t: Knex.CreateTableBuilder): void {
  t.dateTime('created').nullable();
  t.dateTime('updated').nullable();
}

function softDelete(t: Knex.CreateTableBuilder): void {
  t.boolean('deleted').notNullable().defaultTo(false);
  t.dateTime('deleted_at').nullable();
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('datastores', (t) => {
    t.string('id', 36).primary();
    t.string('name', 255).notNullable().unique();
    t.string('default_version_id', 36).nullable();
  });

  await knex.schema.createTable('datastore_versions', (t) => {
    t.string('id', 36).primary();
    t.string('datastore_id', 36).notNullable().references('id').inTable('datastores');
    t.string('name', 255).notNullable();
    t.string('image_id', 36).nullable();
    t.string('image_tags', 255).nullable();
    t.string('packages', 511).nullable();
    t.boolean('active').notNullable().defaultTo(true);
    t.string('manager', 255).notNullable();
    t.string('version', 255).nullable();
    t.string('registry_ext', 255).nullable();
    t.string('repl_strategy', 255).nullable();
    t.unique(['datastore_id', 'name', 'version'], { indexName: 'ds_versions' });
  });

  await knex.schema.createTable('datastore_version_metadata', (t) => {
    t.string('id', 36).primary();
    t.string('datastore_version_id', 36).notNullable().references('id').inTable('datastore_versions');
    t.string('key', 128).notNullable();
    t.string('value', 128).nullable();
    t.dateTime('created').nullable();
    softDelete(t);
    t.dateTime('updated_at').nullable();
    t.unique(['datastore_version_id', 'key', 'value'], { indexName: 'dsv_metadata' });
  });

  await knex.schema.createTable('datastore_configuration_parameters', (t) => {
    t.string('id', 36).primary();
    t.string('name', 128).notNullable();
    t.string('datastore_version_id', 36).notNullable().references('id').inTable('datastore_versions');
    t.boolean('restart_required').notNullable().defaultTo(false);
    t.string('max_size', 40).nullable();
    t.string('min_size', 40).nullable();
    t.string('data_type', 128).notNullable();
    softDelete(t);
    t.unique(['datastore_version_id', 'name'], { indexName: 'dsv_parameter_name' });
  });

  await knex.schema.createTable('capabilities', (t) => {
    t.string('id', 36).primary();
    t.string('name', 255).notNullable().unique();
    t.string('description', 255).notNullable().defaultTo('');
    t.boolean('enabled').notNullable().defaultTo(true);
  });

  await knex.schema.createTable('capability_overrides', (t) => {
    t.string('id', 36).primary();
    t.string('datastore_version_id', 36).notNullable().references('id').inTable('datastore_versions');
    t.string('capability_id', 36).notNullable().references('id').inTable('capabilities');
    t.boolean('enabled').notNullable();
    t.unique(['datastore_version_id', 'capability_id'], { indexName: 'idx_datastore_capabilities_enabled' });
  });

  await knex.schema.createTable('configurations', (t) => {
    t.string('id', 36).primary();
    t.string('name', 64).notNullable();
    t.string('description', 256).nullable();
    t.string('tenant_id', 36).notNullable().index();
    t.string('datastore_version_id', 36).notNullable().references('id').inTable('datastore_versions');
    softDelete(t);
    timestamps(t);
  });

  await knex.schema.createTable('configuration_parameters', (t) => {
    t.string('configuration_id', 36).notNullable().references('id').inTable('configurations');
    t.string('configuration_key', 128).notNullable();
    t.string('configuration_value', 128).nullable();
    softDelete(t);
    t.primary(['configuration_id', 'configuration_key']);
  });

  await knex.schema.createTable('clusters', (t) => {
    t.string('id', 36).primary();
    timestamps(t);
    t.string('name', 255).notNullable();
    t.integer('task_id').notNullable();
    t.string('tenant_id', 36).notNullable().index();
    t.string('datastore_version_id', 36).notNullable().references('id').inTable('datastore_versions');
    softDelete(t);
    t.string('configuration_id', 36).nullable();
  });

  await knex.schema.createTable('instances', (t) => {
    t.string('id', 36).primary();
    timestamps(t);
    t.string('name', 255).nullable();
    t.text('hostname').nullable();
    t.string('compute_instance_id', 36).nullable();
    t.integer('task_id').nullable();
    t.string('task_description', 255).nullable();
    t.dateTime('task_start_time').nullable();
    t.string('volume_id', 36).nullable();
    t.string('flavor_id', 255).nullable();
    t.integer('volume_size').nullable();
    t.string('tenant_id', 36).nullable().index();
    t.string('server_status', 64).nullable();
    softDelete(t);
    t.string('datastore_version_id', 36).nullable().references('id').inTable('datastore_versions');
    t.string('configuration_id', 36).nullable().references('id').inTable('configurations');
    t.string('slave_of_id', 36).nullable().references('id').inTable('instances');
    t.string('cluster_id', 36).nullable().references('id').inTable('clusters');
    t.string('shard_id', 36).nullable();
    t.string('type', 64).nullable();
    t.string('region_id', 255).nullable();
    t.text('encrypted_key').nullable();
    t.text('access').nullable();
    t.string('ssl_mode', 32).nullable();
    t.string('ssl_ref', 255).nullable();
    // trove-ts: the flow step a resumable taskmanager flow last completed, as JSON.
    t.text('flow_state').nullable();
    t.index(['tenant_id', 'deleted', 'created'], 'instances_tenant_created');
  });

  await knex.schema.createTable('service_statuses', (t) => {
    t.string('id', 36).primary();
    t.string('instance_id', 36).notNullable().unique();
    t.integer('status_id').notNullable();
    t.string('status_description', 64).notNullable();
    t.dateTime('updated_at').nullable();
  });

  await knex.schema.createTable('instance_faults', (t) => {
    t.string('id', 36).primary();
    t.string('instance_id', 36).notNullable().references('id').inTable('instances').index();
    t.text('message').notNullable();
    t.text('details').notNullable();
    timestamps(t);
    softDelete(t);
  });

  await knex.schema.createTable('backups', (t) => {
    t.string('id', 36).primary();
    t.string('name', 255).notNullable();
    t.string('description', 512).nullable();
    t.text('location').nullable();
    t.string('backup_type', 32).nullable();
    t.float('size').nullable();
    t.string('tenant_id', 36).nullable().index();
    t.string('state', 32).notNullable();
    t.string('instance_id', 36).nullable().index();
    t.string('checksum', 64).nullable();
    t.dateTime('backup_timestamp').nullable();
    timestamps(t);
    softDelete(t);
    t.string('parent_id', 36).nullable();
    t.string('datastore_version_id', 36).nullable().references('id').inTable('datastore_versions');
    t.string('storage_driver', 32).nullable();
  });

  await knex.schema.createTable('backup_strategy', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).notNullable();
    t.string('instance_id', 36).notNullable().defaultTo('');
    t.string('backend', 255).notNullable();
    t.string('swift_container', 255).nullable();
    t.dateTime('created').nullable();
    t.unique(['tenant_id', 'instance_id'], { indexName: 'UQ_backup_strategy_tenant_id_instance_id' });
  });

  await knex.schema.createTable('modules', (t) => {
    t.string('id', 64).primary();
    t.string('name', 255).notNullable();
    t.string('type', 255).notNullable();
    t.text('contents', 'longtext').notNullable();
    t.string('description', 255).nullable();
    t.string('tenant_id', 64).nullable();
    t.string('datastore_id', 64).nullable();
    t.string('datastore_version_id', 64).nullable();
    t.boolean('auto_apply').notNullable().defaultTo(false);
    t.boolean('visible').notNullable().defaultTo(true);
    t.boolean('live_update').notNullable().defaultTo(false);
    t.string('md5', 32).notNullable();
    t.boolean('priority_apply').notNullable().defaultTo(false);
    t.integer('apply_order').notNullable().defaultTo(5);
    t.boolean('is_admin').notNullable().defaultTo(false);
    timestamps(t);
    softDelete(t);
  });

  await knex.schema.createTable('instance_modules', (t) => {
    t.string('id', 64).primary();
    t.string('instance_id', 64).notNullable().references('id').inTable('instances');
    t.string('module_id', 64).notNullable().references('id').inTable('modules');
    t.string('md5', 32).notNullable();
    timestamps(t);
    softDelete(t);
  });

  await knex.schema.createTable('quotas', (t) => {
    t.string('id', 36).primary();
    timestamps(t);
    t.string('tenant_id', 36).notNullable();
    t.string('resource', 255).notNullable();
    t.integer('hard_limit').nullable();
    t.unique(['tenant_id', 'resource']);
  });

  await knex.schema.createTable('quota_usages', (t) => {
    t.string('id', 36).primary();
    timestamps(t);
    t.string('tenant_id', 36).notNullable();
    t.string('resource', 255).notNullable();
    t.integer('in_use').notNullable().defaultTo(0);
    t.integer('reserved').notNullable().defaultTo(0);
    t.unique(['tenant_id', 'resource']);
  });

  await knex.schema.createTable('reservations', (t) => {
    t.string('id', 36).primary();
    timestamps(t);
    t.string('usage_id', 36).notNullable().references('id').inTable('quota_usages');
    t.integer('delta').notNullable();
    t.string('status', 36).notNullable();
  });

  await knex.schema.createTable('root_enabled_history', (t) => {
    t.string('id', 36).primary();
    t.string('user', 255).nullable();
    t.dateTime('created').nullable();
    t.dateTime('deleted_at').nullable();
  });

  await knex.schema.createTable('conductor_lastseen', (t) => {
    t.string('instance_id', 36).notNullable();
    t.string('method_name', 36).notNullable();
    t.double('sent').notNullable();
    t.primary(['instance_id', 'method_name']);
  });

  await knex.schema.createTable('security_groups', (t) => {
    t.string('id', 36).primary();
    t.string('name', 255).nullable();
    t.string('description', 255).nullable();
    t.string('user', 255).nullable();
    t.string('tenant_id', 255).nullable();
    timestamps(t);
    softDelete(t);
  });

  await knex.schema.createTable('security_group_rules', (t) => {
    t.string('id', 36).primary();
    t.string('group_id', 36).nullable().references('id').inTable('security_groups');
    t.string('parent_group_id', 36).nullable().references('id').inTable('security_groups');
    t.string('protocol', 255).nullable();
    t.integer('from_port').nullable();
    t.integer('to_port').nullable();
    t.string('cidr', 255).nullable();
    timestamps(t);
    softDelete(t);
  });

  await knex.schema.createTable('security_group_instance_associations', (t) => {
    t.string('id', 36).primary();
    t.string('security_group_id', 36).nullable().references('id').inTable('security_groups');
    t.string('instance_id', 36).nullable().references('id').inTable('instances');
    timestamps(t);
    softDelete(t);
  });

  // legacy tables Trove still creates; kept so an operator's tooling finds them.
  await knex.schema.createTable('agent_heartbeats', (t) => {
    t.string('id', 36).primary();
    t.string('instance_id', 36).notNullable().unique();
    t.dateTime('updated_at').nullable();
    t.string('guest_agent_version', 255).nullable();
    t.boolean('deleted').nullable().defaultTo(false);
    t.dateTime('deleted_at').nullable();
  });

  await knex.schema.createTable('usage_events', (t) => {
    t.string('id', 36).primary();
    t.string('instance_name', 36).nullable();
    t.string('tenant_id', 36).nullable();
    t.string('nova_instance_id', 36).nullable();
    t.string('instance_size', 36).nullable();
    t.string('nova_volume_id', 36).nullable();
    t.integer('volume_size').nullable();
    t.string('end_time', 36).nullable();
    t.string('updated', 36).nullable();
  });

  await knex.schema.createTable('dns_records', (t) => {
    t.string('name', 255).primary();
    t.string('record_id', 64).nullable();
  });

  await knex.schema.createTable('service_images', (t) => {
    t.string('id', 36).primary();
    t.string('service_name', 255).nullable();
    t.string('image_id', 255).nullable();
  });
}

export async function down(): Promise<void> {
  throw new Error('db_downgrade is not supported (as in Trove)');
}
