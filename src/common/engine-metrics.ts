// The engine figures a guest sends with each heartbeat (its optional `metrics` object): the same
// few for every engine, and `figures`, the ones a DBA of that engine looks at first, by name
// (e.g. innodb_buffer_pool_hit_rate, cache_hit_ratio, evicted_keys). The conductor parses them
// against this schema and drops only them when they do not match.
import { z } from 'zod';

const amount = z.number().finite().nonnegative();

/** A figure's name: lower case, digits and underscores (a Prometheus label value and a JSON key). */
export const FIGURE_NAME = /^[a-z][a-z0-9_]{0,63}$/;
/** The most figures one heartbeat may carry. */
export const MAX_FIGURES = 32;

export const engineMetrics = z
  .object({
    /** client connections now, and the most the engine accepts */
    connections: amount.optional(),
    max_connections: amount.optional(),
    /** statements, transactions or commands (as the engine counts its work) per second since the previous report */
    queries_per_second: amount.optional(),
    /** a replica's lag behind its source (null: not a replica, or not known) */
    replication_lag_seconds: amount.nullable().optional(),
    replication_lag_bytes: amount.nullable().optional(),
    /** the data volume, GB */
    volume_used_gb: amount.optional(),
    volume_total_gb: amount.optional(),
    uptime_seconds: amount.optional(),
    figures: z
      .record(z.string().regex(FIGURE_NAME), z.number().finite())
      .refine((f) => Object.keys(f).length <= MAX_FIGURES, { message: `at most ${MAX_FIGURES} figures` })
      .optional(),
  })
  .strict();

export type EngineMetrics = z.infer<typeof engineMetrics>;

/** The figures common to every engine, as their wire names (the Prometheus gauges and the history use them). */
export const COMMON_METRICS = [
  'connections',
  'max_connections',
  'queries_per_second',
  'replication_lag_seconds',
  'replication_lag_bytes',
  'volume_used_gb',
  'volume_total_gb',
  'uptime_seconds',
] as const;
export type CommonMetric = (typeof COMMON_METRICS)[number];
