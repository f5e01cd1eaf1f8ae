// [metrics]: the Prometheus port of each service (off by default in cloud mode; the all-in-one
// turns it on, one port for its one process); [healthcheck] detailed: oslo.middleware's key.
import { z } from 'zod';
import { opt } from '../config/schema.js';
import type { AlarmThresholds } from './alarms.js';

export const metricsSection = z.object({
  enabled: opt.bool(false),
  bind_host: opt.str('0.0.0.0'),
  api_port: opt.int(9779, 0, 65535),
  taskmanager_port: opt.int(9780, 0, 65535),
  conductor_port: opt.int(9781, 0, 65535),
});

export type MetricsConfig = z.output<typeof metricsSection>;

export const healthcheckSection = z.object({
  detailed: opt.bool(false),
});

// [DEFAULT] keys of the instance metrics, alarms and storage autoscaling (trove-ts extension),
// read by the conductor (history, alarms), the API (history served, warnings) and the taskmanager
// (autoscaling).
export const instanceMetricsDefaults = z.object({
  /** Seconds between two stored samples of an instance's metrics (the heartbeats between update only the gauges). */
  metrics_history_interval: opt.int(60, 1, 86_400),
  /** Samples kept per instance (the short history of GET .../metrics). */
  metrics_history_length: opt.int(60, 1, 10_000),
  /** Default alarm thresholds, for instances without their own. */
  alarm_volume_used_percent: opt.int(85, 1, 100),
  alarm_connections_percent: opt.int(90, 1, 100),
  alarm_replication_lag_seconds: opt.int(300, 1, 86_400 * 7),
  /** Storage autoscaling: the volume used % at which the taskmanager grows a volume (instances with a max_volume_size). */
  autoscale_volume_used_percent: opt.int(90, 1, 100),
  /** By how much a volume grows, % of its size (at least 1 GB, never past max_volume_size). */
  autoscale_increment_percent: opt.int(25, 1, 1000),
  /** Seconds after a growth before the same instance is grown again. */
  autoscale_cooldown: opt.int(3600, 0),
  /** Seconds between the taskmanager's looks at the volumes. */
  autoscale_interval: opt.int(60, 1),
});

export type InstanceMetricsConfig = z.output<typeof instanceMetricsDefaults>;

/** The configured default thresholds. */
export const defaultThresholds = (c: InstanceMetricsConfig): AlarmThresholds => ({
  volume_used_percent: c.alarm_volume_used_percent,
  connections_percent: c.alarm_connections_percent,
  replication_lag_seconds: c.alarm_replication_lag_seconds,
});
