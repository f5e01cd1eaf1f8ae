// trove-ts extension: per instance a weekly maintenance window and automatic minor version
// upgrades (run by the taskmanager inside the window), with what the last attempt gave.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('instance_maintenance', (t) => {
    t.string('instance_id', 36).primary();
    t.string('tenant_id', 36).notNullable();
    /** the window's start, in minutes since Sunday 00:00 UTC, and its length in minutes; null: no window */
    t.integer('window_start').nullable();
    t.integer('window_duration').nullable();
    t.boolean('auto_minor_version_upgrade').notNullable().defaultTo(false);
    /** where the pre-upgrade backup goes: 'local', or 'swift' through the Keystone trust below */
    t.string('storage_driver', 32).nullable();
    t.string('user_id', 64).nullable();
    /** the Keystone trust id, sealed with taskmanager_rpc_encr_key (swift only) */
    t.text('sealed_credential').nullable();
    /** a taskmanager claims a window's upgrade by moving this into the window (compare-and-set) */
    t.dateTime('last_attempt_at').nullable();
    t.string('last_from_version', 255).nullable();
    t.string('last_target_version', 255).nullable();
    /** UPGRADING, SUCCEEDED or FAILED */
    t.string('last_result', 16).nullable();
    t.text('last_fault').nullable();
    /** why the last pass inside the window started nothing (busy, ...), cleared by an attempt */
    t.string('last_skip_reason', 255).nullable();
    t.dateTime('last_skip_at').nullable();
    t.dateTime('created').nullable();
    t.dateTime('updated').nullable();
  });
}

export async function down(): Promise<void> {
  throw new Error('db_downgrade is not supported (as in Trove)');
}
