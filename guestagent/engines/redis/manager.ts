// Redis: lifecycle, root (the `default` user's password), configuration groups, RDB backups,
// replication (RedisSyncReplication) and upgrades to another build (upgrade.ts); no databases or users, so those verbs answer NotSupportedError (Trove's 501).
import type { Logger } from '../../../src/common/log.js';
import type { RawConfig } from '../../../src/common/config/reader.js';
import { configSection } from '../../../src/common/config/schema.js';
import { RedisMetrics } from './metrics.js';
import type { Engine } from '../../capabilities.js';
import { redisSection } from './config.js';
import { RedisLifecycle } from './lifecycle.js';
import { RedisBackup } from './backup.js';
import { RedisLogs } from './logs.js';
import { RedisReplication } from './replication.js';
import { RedisUpgrade } from './upgrade.js';

export function redisEngine(raw: RawConfig, stateDir: string, log: Logger, runtimeDir?: string): Engine {
  const c = configSection(raw, 'redis', redisSection);
  const lifecycle = new RedisLifecycle(c, stateDir, log, runtimeDir);
  return {
    name: 'redis',
    lifecycle,
    root: lifecycle.root,
    configuration: lifecycle.overrides,
    backup: new RedisBackup(c.mount_point, lifecycle, log),
    logs: new RedisLogs(c, lifecycle.paths),
    metrics: new RedisMetrics(lifecycle.admin),
    replication: new RedisReplication(c, lifecycle, log),
    upgrade: new RedisUpgrade(c, lifecycle, log),
  };
}
