// The guests' engine figures as Prometheus gauges for the operator's scrape, labelled instance_id
// and project_id (not `instance`, the label Prometheus gives each scrape target): one gauge per common figure (trove_instance_connections, ...) and one for each
// engine's own figures, labelled by name (trove_instance_engine_figure{figure="cache_hit_ratio"}).
import { Gauge, type Registry } from 'prom-client';
import { COMMON_METRICS, type CommonMetric, type EngineMetrics } from '../engine-metrics.js';
import { registry as sharedRegistry } from './registry.js';

const HELP: Record<CommonMetric, string> = {
  connections: 'Client connections to the engine',
  max_connections: 'The most client connections the engine accepts',
  queries_per_second: 'Statements, transactions or commands per second since the previous report',
  replication_lag_seconds: "A replica's lag behind its source, seconds",
  replication_lag_bytes: "A replica's received but not applied replication stream, bytes",
  volume_used_gb: 'Data volume used, GB',
  volume_total_gb: 'Data volume size, GB',
  uptime_seconds: 'Seconds since the engine started',
};

/** The registry's gauge of that name, made on first use (several conductors' handlers in one process share it). */
function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Gauge<L> {
  return (registry.getSingleMetric(name) as Gauge<L> | undefined) ?? new Gauge({ name, help, labelNames, registers: [registry] });
}

export class InstanceGauges {
  private readonly common: Map<CommonMetric, Gauge<'instance_id' | 'project_id'>>;
  private readonly figures: Gauge<'instance_id' | 'project_id' | 'figure'>;
  /** the figure names set per instance, to remove an instance's series */
  private readonly named = new Map<string, { project: string; figures: Set<string>; at: number }>();
  private lastPrune = 0;

  /** `silentMs`: an instance that has not reported for this long (deleted, or its guest gone) loses its series. */
  constructor(
    registry: Registry = sharedRegistry,
    private readonly silentMs = 3600_000,
  ) {
    this.common = new Map(COMMON_METRICS.map((m) => [m, gauge(registry, `trove_instance_${m}`, HELP[m], ['instance_id', 'project_id'])]));
    this.figures = gauge(
      registry,
      'trove_instance_engine_figure',
      "An engine's own figure, by name (e.g. innodb_buffer_pool_hit_rate, cache_hit_ratio, evicted_keys)",
      ['instance_id', 'project_id', 'figure'],
    );
  }

  /** Sets the instance's gauges to its latest report (a figure it no longer reports is removed). */
  set(instance: string, project: string, m: EngineMetrics): void {
    const labels = { instance_id: instance, project_id: project };
    for (const [name, gauge] of this.common) {
      const v = m[name];
      if (typeof v === 'number') gauge.set(labels, v);
      else gauge.remove(labels);
    }
    const before = this.named.get(instance);
    const now = new Set(Object.keys(m.figures ?? {}));
    for (const f of before?.figures ?? []) if (!now.has(f)) this.figures.remove({ ...labels, figure: f });
    for (const [f, v] of Object.entries(m.figures ?? {})) this.figures.set({ ...labels, figure: f }, v);
    const at = Date.now();
    this.named.set(instance, { project, figures: now, at });
    if (at - this.lastPrune >= Math.min(60_000, this.silentMs)) {
      this.lastPrune = at;
      for (const [id, known] of this.named) if (at - known.at > this.silentMs) this.forget(id);
    }
  }

  /** Removes every series of the instance (deleted, or silent). */
  forget(instance: string): void {
    const known = this.named.get(instance);
    if (!known) return;
    const labels = { instance_id: instance, project_id: known.project };
    for (const gauge of this.common.values()) gauge.remove(labels);
    for (const f of known.figures) this.figures.remove({ ...labels, figure: f });
    this.named.delete(instance);
  }
}
