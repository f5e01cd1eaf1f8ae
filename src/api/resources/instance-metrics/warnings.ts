// The alarms an instance's latest stored metrics pass, against its thresholds (or the defaults).
import type { EngineMetrics } from '../../../common/engine-metrics.js';
import { alarmWarnings, type AlarmWarning } from '../../../common/metrics/alarms.js';
import { defaultThresholds } from '../../../common/metrics/config.js';
import { alarmThresholds } from '../../../db/instance-alarms.js';
import { recentMetricSamples } from '../../../db/instance-metrics.js';
import type { ApiDeps } from '../../deps.js';

export async function currentWarnings(deps: ApiDeps, instanceId: string): Promise<AlarmWarning[]> {
  const [latest] = await recentMetricSamples(deps.db, instanceId, 1);
  if (!latest) return [];
  return alarmWarnings(latest.metrics as EngineMetrics, await alarmThresholds(deps.db, instanceId, defaultThresholds(deps.config)));
}
