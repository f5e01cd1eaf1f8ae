// The engine figures guests report (instance_metrics): one row per instance every history
// interval, the newest rows served as the instance's latest values and short history, the old ones
// pruned.
import type { Knex } from 'knex';
import type { Db } from './connection.js';

const TABLE = 'instance_metrics';

export interface MetricsRow {
  instanceId: string;
  capturedAt: Date;
  /** the parsed metrics object (src/common/engine-metrics.ts) */
  metrics: Record<string, unknown>;
}

/** Writes the samples of many instances in one statement. */
export async function insertMetricSamples(db: Db, rows: MetricsRow[]): Promise<void> {
  if (!rows.length) return;
  await db(TABLE).insert(rows.map((r) => ({ instance_id: r.instanceId, captured_at: r.capturedAt, metrics: JSON.stringify(r.metrics) })));
}

/** A sub-select of the newest sample's metrics (JSON text, null when none) of the instance `i`, as `alias`: one lookup in instance_metrics_newest. */
export function latestMetricsColumn(db: Db, alias: string): Knex.Raw {
  return db.raw(`(select m.metrics from ${TABLE} m where m.instance_id = i.id order by m.captured_at desc, m.id desc limit 1) as ${alias}`);
}

/** The metrics of latestMetricsColumn, parsed (undefined: no sample yet). */
export function parseLatestMetrics(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'string' ? (JSON.parse(value) as Record<string, unknown>) : undefined;
}

/** The instance's newest samples, newest first, at most `limit`. */
export async function recentMetricSamples(db: Db, instanceId: string, limit: number): Promise<MetricsRow[]> {
  const rows = await db(TABLE)
    .where({ instance_id: instanceId })
    .orderBy([
      { column: 'captured_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(limit)
    .select('instance_id', 'captured_at', 'metrics');
  return rows.map((r: { instance_id: string; captured_at: unknown; metrics: string }) => ({
    instanceId: r.instance_id,
    capturedAt: new Date(r.captured_at as string | number | Date),
    metrics: JSON.parse(r.metrics) as Record<string, unknown>,
  }));
}

/** Deletes the samples captured before `before` (every instance's); how many. */
export async function pruneMetricSamples(db: Db, before: Date): Promise<number> {
  return db(TABLE).where('captured_at', '<', before).delete();
}

/** The project of each of the instances (deleted ones too, for the gauges of a report in flight). */
export async function projectsOf(db: Db, instanceIds: string[]): Promise<Map<string, string>> {
  if (!instanceIds.length) return new Map();
  const rows = await db('instances').whereIn('id', instanceIds).select('id', 'tenant_id');
  return new Map(rows.map((r: { id: string; tenant_id: string }) => [r.id, r.tenant_id]));
}
