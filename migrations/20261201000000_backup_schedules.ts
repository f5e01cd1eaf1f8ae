// trove-ts extension: backup schedules (a cron expression and a retention count per instance, run
// by the taskmanager), and which schedule made a backup (retention only ever touches those).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('backup_schedules', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).notNullable().index();
    t.string('instance_id', 36).notNullable().index();
    t.string('name', 64).notNullable();
    t.string('cron', 128).notNullable();
    t.integer('retention').notNullable();
    t.boolean('enabled').notNullable().defaultTo(true);
    /** when the next run is due; a taskmanager claims a run by moving it forward */
    t.dateTime('next_run_at').nullable().index();
    t.dateTime('last_run_at').nullable();
    t.string('last_backup_id', 36).nullable();
    t.string('last_error', 255).nullable();
    /** where the backups go: 'local' (the all-in-one store) or 'swift' (the user's Swift through a trust) */
    t.string('storage_driver', 32).notNullable();
    /** the Keystone user who made the schedule (the trustor) */
    t.string('user_id', 64).nullable();
    /** the Keystone trust id, sealed with the taskmanager's secret (swift only) */
    t.text('sealed_credential').nullable();
    /** a taskmanager's claim on the schedule's retention pass */
    t.dateTime('retention_lease_until').nullable();
    t.dateTime('created').nullable();
    t.dateTime('updated').nullable();
    t.boolean('deleted').notNullable().defaultTo(false);
    t.dateTime('deleted_at').nullable();
  });
  await knex.schema.alterTable('backups', (t) => {
    t.string('schedule_id', 36).nullable().index();
  });
}

export async function down(): Promise<void> {
  throw new Error('db_downgrade is not supported (as in Trove)');
}
