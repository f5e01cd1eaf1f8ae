// The MySQL family's figures for the heartbeat: SHOW GLOBAL STATUS (connections, Questions,
// uptime, the InnoDB buffer pool's hit rate and row lock waits), max_connections and, on a
// replica, SHOW SLAVE STATUS (seconds behind and the relay's unapplied bytes). One connection
// is kept between reports (a general log gets one Connect line, not one per heartbeat).
import type { Connection } from 'mysql2/promise';
import type { Metrics, MetricsSample } from '../../capabilities.js';
import type { MysqlAdmin } from './admin.js';

const num = (v: unknown): number => {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
};

/** The InnoDB buffer pool's hit rate: the share of page reads served from memory (1 with no reads yet). */
export function bufferPoolHitRate(readRequests: number, diskReads: number): number {
  return readRequests > 0 ? Math.max(0, 1 - diskReads / readRequests) : 1;
}

/** A replica's lag from SHOW SLAVE STATUS: null when the server is no replica (or its SQL thread is stopped). */
export function replicaLag(row: Record<string, unknown> | undefined): { seconds: number | null; bytes: number | null } {
  if (!row) return { seconds: null, bytes: null };
  const behind = row.Seconds_Behind_Master;
  const seconds = behind === null || behind === undefined ? null : num(behind);
  // read from the source but not applied yet, when both positions are in the same binlog file
  const sameFile = row.Master_Log_File === row.Relay_Master_Log_File;
  const bytes = sameFile ? Math.max(0, num(row.Read_Master_Log_Pos) - num(row.Exec_Master_Log_Pos)) : null;
  return { seconds, bytes };
}

export class MysqlMetrics implements Metrics {
  private conn: Connection | undefined;

  constructor(private readonly admin: MysqlAdmin) {}

  private async query<T>(sql: string): Promise<T> {
    if (!this.conn) {
      this.conn = await this.admin.connect();
      this.conn.on('error', () => undefined); // a server gone away is seen by the next query
    }
    try {
      return (await this.conn.query(sql))[0] as T;
    } catch (err) {
      this.conn.destroy();
      this.conn = undefined;
      throw err;
    }
  }

  async sample(): Promise<MetricsSample> {
    const rows = await this.query<Array<{ Variable_name: string; Value: string }>>('SHOW GLOBAL STATUS');
    const status = new Map(rows.map((r) => [r.Variable_name.toLowerCase(), num(r.Value)]));
    const g = (name: string): number => status.get(name) ?? 0;
    const [vars] = await this.query<Array<{ max_connections: number }>>('SELECT @@max_connections AS max_connections');
    const [slave] = await this.query<Array<Record<string, unknown>>>('SHOW SLAVE STATUS');
    const lag = replicaLag(slave);
    return {
      connections: g('threads_connected'),
      maxConnections: num(vars?.max_connections),
      queries: g('questions'),
      uptimeSeconds: g('uptime'),
      replicationLagSeconds: lag.seconds,
      replicationLagBytes: lag.bytes,
      figures: {
        innodb_buffer_pool_hit_rate: bufferPoolHitRate(g('innodb_buffer_pool_read_requests'), g('innodb_buffer_pool_reads')),
        innodb_row_lock_waits: g('innodb_row_lock_waits'),
        innodb_row_lock_time_ms: g('innodb_row_lock_time'),
        threads_running: g('threads_running'),
        slow_queries: g('slow_queries'),
      },
    };
  }

  /** Closes the kept connection (the engine stops). */
  close(): void {
    this.conn?.destroy();
    this.conn = undefined;
  }
}
