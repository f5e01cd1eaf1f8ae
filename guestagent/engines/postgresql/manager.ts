// PostgreSQL: lifecycle, databases, users, root, configuration groups, backups (pg_basebackup) and streaming replication on a local server.
import type { Logger } from '../../../src/common/log.js';
import type { RawConfig } from '../../../src/common/config/reader.js';
import { configSection } from '../../../src/common/config/schema.js';
import { PgMetrics } from './metrics.js';
import type { Engine } from '../../capabilities.js';
import { postgresqlSection } from './config.js';
import { PgLifecycle } from './lifecycle.js';
import { PostgresqlBackup } from './backup.js';
import { PgLogs } from './logs.js';
import { PgReplication } from './replication.js';
import { PgUpgrade } from './upgrade.js';

export function postgresqlEngine(raw: RawConfig, stateDir: string, log: Logger, runtimeDir?: string): Engine {
  const c = configSection(raw, 'postgresql', postgresqlSection);
  const lifecycle = new PgLifecycle(c, stateDir, log, runtimeDir);
  return {
    name: 'postgresql',
    lifecycle,
    databases: lifecycle.admin,
    users: lifecycle.admin,
    root: lifecycle.admin,
    configuration: lifecycle.overrides,
    backup: new PostgresqlBackup(c.mount_point, c.port, lifecycle, log),
    logs: new PgLogs(c, lifecycle),
    metrics: new PgMetrics(lifecycle.admin),
    replication: new PgReplication(c, lifecycle, log),
    upgrade: new PgUpgrade(c, lifecycle, log),
  };
}
