// An instance's alarms: its latest metrics against its thresholds. A passed threshold is a
// warning (shown by the API, notified by the conductor), never a status.
import type { EngineMetrics } from '../engine-metrics.js';

export interface AlarmThresholds {
  volume_used_percent: number;
  connections_percent: number;
  replication_lag_seconds: number;
}

export type AlarmName = keyof AlarmThresholds;

export interface AlarmWarning {
  alarm: AlarmName;
  value: number;
  threshold: number;
  message: string;
}

const pct = (used: number | undefined, total: number | undefined): number | undefined =>
  used !== undefined && total !== undefined && total > 0 ? Math.round((used / total) * 1000) / 10 : undefined;

/** The thresholds the metrics pass, each with a sentence a user can act on. */
export function alarmWarnings(m: EngineMetrics, t: AlarmThresholds): AlarmWarning[] {
  const out: AlarmWarning[] = [];
  const volume = pct(m.volume_used_gb, m.volume_total_gb);
  if (volume !== undefined && volume >= t.volume_used_percent)
    out.push({
      alarm: 'volume_used_percent',
      value: volume,
      threshold: t.volume_used_percent,
      message: `The data volume is ${volume}% used (alarm at ${t.volume_used_percent}%): resize the volume or remove data.`,
    });
  const conns = pct(m.connections, m.max_connections);
  if (conns !== undefined && conns >= t.connections_percent)
    out.push({
      alarm: 'connections_percent',
      value: conns,
      threshold: t.connections_percent,
      message: `${m.connections} of ${m.max_connections} connections are in use (${conns}%, alarm at ${t.connections_percent}%).`,
    });
  const lag = m.replication_lag_seconds;
  if (typeof lag === 'number' && lag >= t.replication_lag_seconds)
    out.push({
      alarm: 'replication_lag_seconds',
      value: lag,
      threshold: t.replication_lag_seconds,
      message: `The replica is ${lag} s behind its source (alarm at ${t.replication_lag_seconds} s).`,
    });
  return out;
}

/** Where alarm notifications go: the oslo notifier once wired; the log by default. */
export interface AlarmNotifier {
  notify(eventType: string, payload: Record<string, unknown>): void | Promise<void>;
}

export const loggingNotifier = (log: { warn(o: object, msg: string): void }): AlarmNotifier => ({
  notify: (eventType, payload) => log.warn({ event_type: eventType, ...payload }, 'instance alarm'),
});
