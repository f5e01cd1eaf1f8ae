// The alarms an instance's latest stored metrics pass, against its thresholds (or the defaults).
import type { EngineMetrics } from '../../../common/engine-metrics.js';
import { alarmWarnings, type AlarmWarning } from '../../../common/metrics/alarms.js';
import { defaultThresholds } from '../../../common/metrics/config.js';
import { alarmThresholds } from '../../../db/instance-alarms.js';
import type { ApiDeps } from '../../deps.js';

/** The warnings of the instance's newest metrics sample (read with the instance: getInstanceView), none when it has none. */
export async function currentWarnings(deps: ApiDeps, instanceId: string, latestMetrics: Record<string, unknown> | undefined): Promise<AlarmWarning[]> {
  if (!latestMetrics) return [];
  return alarmWarnings(latestMetrics as EngineMetrics, await alarmThresholds(deps.db, instanceId, defaultThresholds(deps.config)));
}
