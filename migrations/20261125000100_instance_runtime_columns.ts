// trove-ts keeps what Trove asks Nova/Cinder for on every request (addresses, volume usage,
// availability zone, locality) in its own rows, kept current by the taskmanager.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (t) => {
    t.text('addresses').nullable();
    t.double('volume_used').nullable();
    t.string('availability_zone', 255).nullable();
    t.string('locality', 32).nullable();
    t.string('server_group_id', 36).nullable();
    t.string('volume_type', 255).nullable();
    t.index(['task_id'], 'instances_task_id');
  });
}

export async function down(): Promise<void> {
  throw new Error('db_downgrade is not supported (as in Trove)');
}
