// The `metrics` of a heartbeat: the engine's sample (capabilities.ts Metrics) with its query
// counter turned into a rate since the previous report, and the data volume's figures.
import type { EngineMetrics } from '../src/common/engine-metrics.js';
import type { FsStats, Metrics } from './capabilities.js';

const round = (n: number, digits = 3): number => Number(n.toFixed(digits));

export class MetricsReport {
  private previous: { queries: number; at: number } | undefined;

  constructor(private readonly metrics: Metrics | undefined) {}

  /** The heartbeat's metrics, or undefined when the engine has none or could not be read (the heartbeat goes without). */
  async build(fs: FsStats | undefined, now = Date.now()): Promise<EngineMetrics | undefined> {
    if (!this.metrics) return undefined;
    const s = await this.metrics.sample().catch(() => undefined);
    if (!s) return undefined;
    const prev = this.previous;
    this.previous = { queries: s.queries, at: now };
    const m: EngineMetrics = {
      connections: s.connections,
      max_connections: s.maxConnections,
      uptime_seconds: s.uptimeSeconds,
      replication_lag_seconds: s.replicationLagSeconds,
      replication_lag_bytes: s.replicationLagBytes,
      figures: Object.fromEntries(
        Object.entries(s.figures)
          .filter(([, v]) => Number.isFinite(v))
          .map(([k, v]) => [k, round(v, 6)]),
      ),
    };
    // a counter that went down is an engine restarted since: no rate this time
    if (prev && now > prev.at && s.queries >= prev.queries) m.queries_per_second = round(((s.queries - prev.queries) * 1000) / (now - prev.at));
    if (fs) {
      m.volume_used_gb = round(fs.used, 6);
      m.volume_total_gb = round(fs.total, 6);
    }
    return m;
  }
}
