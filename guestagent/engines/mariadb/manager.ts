// MariaDB: the MySQL-family lifecycle and admin with MariaDB's initialiser and name rules.
import type { Logger } from '../../../src/common/log.js';
import type { RawConfig } from '../../../src/common/config/reader.js';
import { configSection } from '../../../src/common/config/schema.js';
import { MysqlMetrics } from '../mysql-common/metrics.js';
import type { Engine } from '../../capabilities.js';
import { MysqlLifecycle } from '../mysql-common/lifecycle.js';
import { MysqlConfiguration } from '../mysql-common/configuration.js';
import { MysqlBackup } from '../mysql-common/backup.js';
import { MysqlLogs } from '../mysql-common/logs.js';
import { MysqlReplication } from '../mysql-common/replication.js';
import { MysqlUpgrade } from '../mysql-common/upgrade.js';
import { mariadbSection } from './config.js';

export function mariadbEngine(raw: RawConfig, stateDir: string, log: Logger, runtimeDir?: string): Engine {
  const c = configSection(raw, 'mariadb', mariadbSection);
  const lifecycle = new MysqlLifecycle(c, stateDir, log, 80, raw.DEFAULT?.guest_id, runtimeDir);
  const backup = new MysqlBackup(c, lifecycle, log);
  return {
    name: 'mariadb',
    lifecycle,
    databases: lifecycle.admin,
    users: lifecycle.admin,
    root: lifecycle.admin,
    configuration: new MysqlConfiguration(lifecycle, lifecycle.admin),
    backup,
    logs: new MysqlLogs(c, lifecycle),
    metrics: new MysqlMetrics(lifecycle.admin),
    replication: new MysqlReplication(c, lifecycle, backup, log),
    upgrade: new MysqlUpgrade(c, lifecycle, backup, log),
  };
}
