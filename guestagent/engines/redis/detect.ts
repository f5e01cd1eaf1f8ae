// Is Redis installed here, and which version? Replicas are built from an RDB backup (BGSAVE, always
// there) and Redis's own replication, so replication is always offered.
import { majorMinor, versionOf, type DetectedEngine } from '../detect.js';

export async function detectRedis(bin = '/usr/bin/redis-server'): Promise<DetectedEngine | undefined> {
  const v = await versionOf(bin, /Redis server v=(\d+\.\d+\.\d+)/);
  return v ? { manager: 'redis', version: v, name: majorMinor(v), replicationStrategy: 'RedisSyncReplication' } : undefined;
}
