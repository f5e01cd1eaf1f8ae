// The engine registry: the only file that lists the engines.
import type { Logger } from '../../src/common/log.js';
import type { RawConfig } from '../../src/common/config/reader.js';
import type { Engine } from '../capabilities.js';
import { mariadbEngine } from './mariadb/manager.js';
import { mysqlEngine } from './mysql/manager.js';
import { postgresqlEngine } from './postgresql/manager.js';
import { redisEngine } from './redis/manager.js';
import { detectMariadb } from './mariadb/detect.js';
import { detectMysql } from './mysql/detect.js';
import { detectPgBuilds } from './postgresql/builds.js';
import { postgresqlSection } from './postgresql/config.js';
import { configSection } from '../../src/common/config/schema.js';
import { detectRedis } from './redis/detect.js';
import type { DetectedEngine } from './detect.js';

/** `runtimeDir`: where the engine's unix sockets go (src/common/runtime-dir.ts). */
type Factory = (raw: RawConfig, stateDir: string, log: Logger, runtimeDir?: string) => Engine;

const ENGINES: Record<string, Factory> = {
  mariadb: mariadbEngine,
  mysql: mysqlEngine,
  postgresql: postgresqlEngine,
  redis: redisEngine,
};

export function engineFor(manager: string, raw: RawConfig, stateDir: string, log: Logger, runtimeDir?: string): Engine {
  const factory = ENGINES[manager];
  if (!factory) throw new Error(`no engine for datastore manager '${manager}' (known: ${Object.keys(ENGINES).join(', ')})`);
  return factory(raw, stateDir, log, runtimeDir);
}

export function knownEngines(): string[] {
  return Object.keys(ENGINES);
}

/** The engines installed on this machine that the agent can manage (with the builds a config's version_dirs name). */
export async function detectEngines(raw: RawConfig = {}): Promise<DetectedEngine[]> {
  const found = await Promise.all([detectMariadb(raw), detectMysql(), detectPgBuilds(configSection(raw, 'postgresql', postgresqlSection)), detectRedis(raw)]);
  return found.flat().filter((e): e is DetectedEngine => e !== undefined);
}
