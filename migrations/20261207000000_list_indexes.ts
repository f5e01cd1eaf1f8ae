// Indexes for the list pages and what their rows show: each page is read in index order and
// stops at its limit, and each row's newest fault, running backup and replicas are index look-ups,
// whatever the number of instances, backups and groups.
import type { Knex } from 'knex';
import { isSqlite } from '../src/db/dialect.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (t) => {
    // a project's list (no clusters), newest first: without cluster_id in it MariaDB took the
    // intersection of the tenant_id and cluster_id indexes and sorted the whole project, and after a
    // marker read the project's newer rows one by one on (tenant_id, deleted, created); this one
    // replaces both
    t.index(['tenant_id', 'deleted', 'cluster_id', 'created', 'id'], 'instances_tenant_list');
    t.dropIndex(['tenant_id'], 'instances_tenant_id_index');
    t.dropIndex(['tenant_id', 'deleted', 'created'], 'instances_tenant_created');
    // the management list of every project, newest first
    t.index(['created', 'id'], 'instances_created');
  });
  // MariaDB and MySQL index a foreign key themselves (instances_slave_of_id_foreign); SQLite does not
  if (isSqlite(knex)) await knex.schema.alterTable('instances', (t) => t.index(['slave_of_id'], 'instances_slave_of_id'));
  await knex.schema.alterTable('instance_faults', (t) => {
    t.index(['instance_id', 'deleted', 'created'], 'instance_faults_newest');
  });
  await knex.schema.alterTable('backups', (t) => {
    t.index(['instance_id', 'deleted', 'state'], 'backups_instance_state');
  });
  // GET /backups orders by updated descending, then id ascending (the same statement on both)
  await knex.raw('CREATE INDEX backups_tenant_updated ON backups (tenant_id, deleted, updated DESC, id)');
  await knex.schema.alterTable('configurations', (t) => {
    t.index(['tenant_id', 'deleted', 'created', 'id'], 'configurations_tenant_created');
  });
}

export async function down(): Promise<void> {
  throw new Error('db_downgrade is not supported (as in Trove)');
}
