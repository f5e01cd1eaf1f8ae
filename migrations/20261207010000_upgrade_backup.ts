// trove-ts extension: the backup an upgrade took before touching the instance (Trove keeps none),
// so the user and the flow's rollback know which one to restore from.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (t) => {
    t.string('upgrade_backup_id', 36).nullable();
  });
}

export async function down(): Promise<void> {
  throw new Error('db_downgrade is not supported (as in Trove)');
}
