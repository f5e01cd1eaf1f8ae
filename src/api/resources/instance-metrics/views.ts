// Wire JSON of the instance metrics and alarms (trove-ts extension).
import type { AlarmThresholds, AlarmWarning } from '../../../common/metrics/alarms.js';
import type { InstanceAlarmsRecord } from '../../../db/instance-alarms.js';
import type { MetricsRow } from '../../../db/instance-metrics.js';

const at = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, '');

export function metricsView(instanceId: string, rows: MetricsRow[], warnings: AlarmWarning[]) {
  const [latest] = rows;
  return {
    instance_id: instanceId,
    captured_at: latest ? at(latest.capturedAt) : null,
    latest: latest?.metrics ?? null,
    warnings,
    /** oldest first */
    history: rows
      .slice()
      .reverse()
      .map((r) => ({ captured_at: at(r.capturedAt), ...r.metrics })),
  };
}

export function alarmsView(instanceId: string, t: AlarmThresholds, own: InstanceAlarmsRecord | undefined) {
  return {
    instance_id: instanceId,
    ...t,
    max_volume_size: own?.max_volume_size ?? null,
    last_autoscale_at: own?.last_autoscale_at ? at(own.last_autoscale_at) : null,
  };
}
