// PostgreSQL's figures for the heartbeat: client backends and max_connections, transactions
// (commits + rollbacks, the rate the heartbeat shows as queries per second), the cache hit ratio,
// commits, deadlocks and the oldest open transaction's age from pg_stat_database and
// pg_stat_activity, and on a standby its replay lag (seconds since the last replayed transaction,
// received but unreplayed WAL bytes).
import type { Metrics, MetricsSample } from '../../capabilities.js';
import type { PgAdmin } from './admin.js';

const SAMPLE = `
SELECT
  (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::float8 AS connections,
  current_setting('max_connections')::float8 AS max_connections,
  coalesce(sum(xact_commit + xact_rollback), 0)::float8 AS xacts,
  coalesce(sum(xact_commit), 0)::float8 AS commits,
  coalesce(sum(blks_hit), 0)::float8 AS blks_hit,
  coalesce(sum(blks_read), 0)::float8 AS blks_read,
  coalesce(sum(deadlocks), 0)::float8 AS deadlocks,
  extract(epoch FROM now() - pg_postmaster_start_time())::float8 AS uptime,
  (SELECT coalesce(extract(epoch FROM max(now() - xact_start)), 0) FROM pg_stat_activity
     WHERE xact_start IS NOT NULL AND backend_type = 'client backend' AND pid <> pg_backend_pid())::float8 AS oldest_xact,
  CASE WHEN NOT pg_is_in_recovery() THEN NULL
       WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
       ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END::float8 AS lag_seconds,
  CASE WHEN pg_is_in_recovery() THEN greatest(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0) END::float8 AS lag_bytes
FROM pg_stat_database`;

interface Row {
  connections: number;
  max_connections: number;
  xacts: number;
  commits: number;
  blks_hit: number;
  blks_read: number;
  deadlocks: number;
  uptime: number;
  oldest_xact: number;
  lag_seconds: number | null;
  lag_bytes: number | null;
}

/** The share of block reads served from shared buffers (1 with no reads yet). */
export function cacheHitRatio(hit: number, read: number): number {
  return hit + read > 0 ? hit / (hit + read) : 1;
}

export class PgMetrics implements Metrics {
  constructor(private readonly admin: PgAdmin) {}

  async sample(): Promise<MetricsSample> {
    const r = await this.admin.run(async (c) => (await c.query<Row>(SAMPLE)).rows[0]!);
    return {
      connections: r.connections,
      maxConnections: r.max_connections,
      queries: r.xacts,
      uptimeSeconds: Math.floor(r.uptime),
      replicationLagSeconds: r.lag_seconds === null ? null : Math.max(0, r.lag_seconds),
      replicationLagBytes: r.lag_bytes,
      figures: {
        cache_hit_ratio: cacheHitRatio(r.blks_hit, r.blks_read),
        commits: r.commits,
        deadlocks: r.deadlocks,
        oldest_transaction_age_seconds: r.oldest_xact,
      },
    };
  }
}
