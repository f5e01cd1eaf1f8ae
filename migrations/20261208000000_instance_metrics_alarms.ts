// trove-ts extension: the engine figures the guests report (a short history per instance, one row
// every metrics_history_interval seconds), and per instance its alarm thresholds and storage
// autoscaling limit (the largest volume the taskmanager may grow it to, when it last did).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('instance_metrics', (t) => {
    t.bigIncrements('id');
    t.string('instance_id', 36).notNullable();
    t.dateTime('captured_at').notNullable();
    /** the heartbeat's metrics object (src/common/engine-metrics.ts), as JSON */
    t.text('metrics').notNullable();
    t.index(['instance_id', 'captured_at'], 'instance_metrics_newest');
    t.index(['captured_at'], 'instance_metrics_captured');
  });
  await knex.schema.createTable('instance_alarms', (t) => {
    t.string('instance_id', 36).primary();
    t.string('tenant_id', 36).notNullable();
    /** thresholds: a warning (and a notification) when passed; null: the configured default */
    t.float('volume_used_percent').nullable();
    t.float('connections_percent').nullable();
    t.float('replication_lag_seconds').nullable();
    /** storage autoscaling: the largest size (GB) the volume is grown to; null: no autoscaling */
    t.integer('max_volume_size').nullable();
    t.dateTime('last_autoscale_at').nullable();
    t.dateTime('created').nullable();
    t.dateTime('updated').nullable();
  });
}

export async function down(): Promise<void> {
  throw new Error('db_downgrade is not supported (as in Trove)');
}
