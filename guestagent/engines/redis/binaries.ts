// Which build of redis-server an instance runs: the configured redis_server_bin, or the same path
// under one of the builds unpacked side by side ([redis] version_dirs), chosen by the version the
// server reports (builds.ts).
import path from 'node:path';
import { describe, pickBuild, probeBuilds, type Build } from '../builds.js';
import { majorMinor, versionOf } from '../detect.js';
import type { RedisConfig } from './config.js';

export interface RedisBinaries {
  /** '' for the configured binary, else the version directory */
  root: string;
  server: string;
}

const SERVER_VERSION = /Redis server v=(\d+\.\d+\.\d+)/;

export function redisBinariesAt(c: RedisConfig, root: string): RedisBinaries {
  return { root, server: root ? path.join(root, c.redis_server_bin) : c.redis_server_bin };
}

/** The full version a redis-server reports (`Redis server v=7.0.15 ...`), undefined when it is missing or says none. */
export function redisServerVersion(bin: string): Promise<string | undefined> {
  return versionOf(bin, SERVER_VERSION);
}

/** The configured build first, then each version directory, with the version each reports. */
export function redisBuilds(c: RedisConfig): Promise<Array<Build<RedisBinaries>>> {
  return probeBuilds([redisBinariesAt(c, ''), ...c.version_dirs.map((d) => redisBinariesAt(c, d))], (b) => b.server, SERVER_VERSION);
}

/** The build of a version: exactly 6.0.16, or the series 6.0 (the configured build first); undefined when none is installed here. */
export async function findRedisBuild(c: RedisConfig, version: string): Promise<RedisBinaries | undefined> {
  return pickBuild(await redisBuilds(c), version, majorMinor);
}

/** The builds here, for a message: "/usr/bin/redis-server (7.0.15), /opt/r/usr/bin/redis-server (missing)". */
export async function describeRedisBuilds(c: RedisConfig): Promise<string> {
  return describe(await redisBuilds(c), (b) => b.server);
}
