// Which taskmanager runs an instance's flow, and until when its lease holds: a restarted or
// second taskmanager takes over a flow whose lease ran out, never one that is still held.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (t) => {
    t.string('flow_owner', 64).nullable();
    t.dateTime('flow_lease_until').nullable();
  });
}

export async function down(): Promise<void> {
  throw new Error('db_downgrade is not supported (as in Trove)');
}
