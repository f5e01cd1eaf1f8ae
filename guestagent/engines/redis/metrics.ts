// Redis's figures for the heartbeat, from INFO: connected clients (maxclients from CONFIG GET),
// commands processed (the rate the heartbeat shows as queries per second), uptime, used memory,
// evictions, keyspace hits and misses, and on a replica the seconds since its source last spoke
// and the replication stream it read but has not applied yet.
import type { Metrics, MetricsSample } from '../../capabilities.js';
import type { RedisAdmin } from './admin-client.js';

/** INFO's `key:value` lines (sections and comments skipped). */
export function parseInfo(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) m.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return m;
}

export class RedisMetrics implements Metrics {
  constructor(private readonly admin: RedisAdmin) {}

  async sample(): Promise<MetricsSample> {
    const { info, maxclients } = await this.admin.run(async (r) => ({
      info: parseInfo(await r.info()),
      maxclients: ((await r.config('GET', 'maxclients')) as string[])[1],
    }));
    const n = (k: string): number => {
      const v = Number(info.get(k));
      return Number.isFinite(v) ? v : 0;
    };
    const replica = info.get('role') === 'slave';
    const linkUp = info.get('master_link_status') === 'up';
    return {
      // the agent's own connection is one of them
      connections: n('connected_clients'),
      maxConnections: Number(maxclients) || 0,
      queries: n('total_commands_processed'),
      uptimeSeconds: n('uptime_in_seconds'),
      replicationLagSeconds: replica && linkUp ? Math.max(0, n('master_last_io_seconds_ago')) : null,
      replicationLagBytes: replica && info.has('slave_read_repl_offset') ? Math.max(0, n('slave_read_repl_offset') - n('slave_repl_offset')) : null,
      figures: {
        used_memory_bytes: n('used_memory'),
        maxmemory_bytes: n('maxmemory'),
        evicted_keys: n('evicted_keys'),
        keyspace_hits: n('keyspace_hits'),
        keyspace_misses: n('keyspace_misses'),
      },
    };
  }
}
