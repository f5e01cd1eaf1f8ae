// trove-ts extension: why a guest failed and why a backup failed, in the guest's words (secrets
// scrubbed). service_statuses.status_reason / status_log_tail come with a 'failed to spawn'
// heartbeat and end the taskmanager's wait as the instance's fault; backups.fail_reason comes
// with a FAILED update_backup and is shown by backup show.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('service_statuses', (t) => {
    t.text('status_reason').nullable();
    t.text('status_log_tail').nullable();
  });
  await knex.schema.alterTable('backups', (t) => {
    t.text('fail_reason').nullable();
  });
}

export async function down(): Promise<void> {
  throw new Error('db_downgrade is not supported (as in Trove)');
}
