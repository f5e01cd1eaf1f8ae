// Is Redis installed here, and which versions? The configured server, then each build in [redis]
// version_dirs (named major.minor, e.g. 6.0 beside 7.0; a build of a series already named by its
// full version, e.g. 7.0.11). Replicas are built from an RDB backup (BGSAVE, always there) and
// Redis's own replication, so replication is always offered.
import type { RawConfig } from '../../../src/common/config/reader.js';
import { configSection } from '../../../src/common/config/schema.js';
import { nameBuilds } from '../builds.js';
import { majorMinor, type DetectedEngine } from '../detect.js';
import { redisBuilds } from './binaries.js';
import { redisSection } from './config.js';

export async function detectRedis(raw: RawConfig = {}): Promise<DetectedEngine[]> {
  const builds = await redisBuilds(configSection(raw, 'redis', redisSection));
  return nameBuilds(builds, majorMinor).map(({ version, name }) => ({ manager: 'redis', version, name, replicationStrategy: 'RedisSyncReplication' }));
}
