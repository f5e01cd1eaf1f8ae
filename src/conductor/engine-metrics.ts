// The engine figures that come with guests' heartbeats: checked against the schema (malformed
// ones are dropped and logged once per instance; the heartbeat itself is unaffected), set on the
// Prometheus gauges at every heartbeat, stored once per metrics_history_interval per instance
// (many instances' rows in one insert, so the heartbeats' rate holds), the history beyond
// metrics_history_length intervals pruned, and the alarm thresholds checked at each stored sample
// (a notification when one is passed, and again only after it cleared).
import type { Db } from '../db/connection.js';
import { insertMetricSamples, projectsOf, pruneMetricSamples, type MetricsRow } from '../db/instance-metrics.js';
import { alarmThresholds } from '../db/instance-alarms.js';
import { engineMetrics, type EngineMetrics } from '../common/engine-metrics.js';
import { alarmWarnings, loggingNotifier, type AlarmNotifier } from '../common/metrics/alarms.js';
import type { InstanceMetricsConfig } from '../common/metrics/config.js';
import { defaultThresholds, instanceMetricsDefaults } from '../common/metrics/config.js';
import { InstanceGauges } from '../common/metrics/instance-gauges.js';
import { grouped } from '../common/grouped.js';
import type { Logger } from '../common/log.js';

/** How many instances the recorder remembers (projects, last stored, warned, alarms on). */
const KEPT = 100_000;

const remember = <K, V>(m: Map<K, V> | Set<K>, k: K, v?: V): void => {
  if (m instanceof Map) m.set(k, v as V);
  else m.add(k);
  while (m.size > KEPT) m.delete(m.keys().next().value!);
};

export interface EngineMetricsOptions {
  config?: InstanceMetricsConfig;
  gauges?: InstanceGauges;
  notifier?: AlarmNotifier;
}

export class EngineMetricsRecorder {
  private readonly config: InstanceMetricsConfig;
  private readonly gauges: InstanceGauges;
  private readonly notifier: AlarmNotifier;
  private readonly projects = new Map<string, string>();
  private readonly stored = new Map<string, number>();
  private readonly warned = new Set<string>();
  /** instances not found, and when they were looked up */
  private readonly unknown = new Map<string, number>();
  /** the alarms on, per instance (a notification when one turns on) */
  private readonly on = new Map<string, Set<string>>();
  private lastPrune = 0;
  private readonly projectOf: (id: string) => Promise<string | undefined>;
  private readonly insert: (row: MetricsRow) => Promise<void>;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    o: EngineMetricsOptions = {},
  ) {
    this.config = o.config ?? instanceMetricsDefaults.parse({});
    this.gauges = o.gauges ?? new InstanceGauges();
    this.notifier = o.notifier ?? loggingNotifier(log);
    this.projectOf = grouped(async (ids: string[]) => {
      const found = await projectsOf(db, [...new Set(ids)]);
      return ids.map((id) => found.get(id));
    });
    this.insert = grouped(async (rows: MetricsRow[]) => {
      await insertMetricSamples(db, rows);
      return rows.map(() => undefined);
    });
  }

  /** Takes a heartbeat's metrics (unknown: a guest may send anything); never throws. */
  async take(instanceId: string, raw: unknown): Promise<void> {
    if (raw === undefined) return;
    const parsed = engineMetrics.safeParse(raw);
    if (!parsed.success) {
      if (!this.warned.has(instanceId)) {
        remember(this.warned, instanceId);
        const issue = parsed.error.issues[0];
        this.log.warn(
          { instance_id: instanceId, field: issue?.path.join('.'), issue: issue?.message },
          'heartbeat metrics malformed: dropped (logged once per instance)',
        );
      }
      return;
    }
    try {
      await this.record(instanceId, parsed.data);
    } catch (err) {
      this.log.warn({ instance_id: instanceId, err: (err as Error).message }, 'heartbeat metrics not recorded');
    }
  }

  private async record(instanceId: string, m: EngineMetrics): Promise<void> {
    const now = Date.now();
    const interval = this.config.metrics_history_interval * 1000;
    let project = this.projects.get(instanceId);
    if (!project) {
      // an instance not found is looked up again only after an interval (no query per heartbeat)
      if (now - (this.unknown.get(instanceId) ?? 0) < interval) return;
      project = await this.projectOf(instanceId);
      if (!project) return void remember(this.unknown, instanceId, now);
      this.unknown.delete(instanceId);
      remember(this.projects, instanceId, project);
    }
    this.gauges.set(instanceId, project, m);
    if (now - (this.stored.get(instanceId) ?? 0) < interval) return;
    remember(this.stored, instanceId, now);
    await this.insert({ instanceId, capturedAt: new Date(now), metrics: m });
    await this.checkAlarms(instanceId, project, m);
    if (now - this.lastPrune >= interval) {
      this.lastPrune = now;
      await pruneMetricSamples(this.db, new Date(now - interval * this.config.metrics_history_length));
    }
  }

  private async checkAlarms(instanceId: string, project: string, m: EngineMetrics): Promise<void> {
    const warnings = alarmWarnings(m, await alarmThresholds(this.db, instanceId, defaultThresholds(this.config)));
    const before = this.on.get(instanceId) ?? new Set<string>();
    const now = new Set(warnings.map((w) => w.alarm));
    for (const w of warnings) {
      if (before.has(w.alarm)) continue;
      await this.notifier.notify('trove.instance.alarm', { instance_id: instanceId, tenant_id: project, ...w });
    }
    remember(this.on, instanceId, now);
  }
}
