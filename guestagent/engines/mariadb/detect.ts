// Is MariaDB installed here, and which versions? The configured server, then each build in
// [mariadb] version_dirs (a build of the same version name is named by its full version, e.g.
// 10.11.18 beside 10.11). Replicas are built from a physical backup, so replication is offered
// only where mariadb-backup and mbstream are installed too.
import type { RawConfig } from '../../../src/common/config/reader.js';
import { configSection } from '../../../src/common/config/schema.js';
import { findExecutable } from '../../backup/process-stream.js';
import { majorMinor, type DetectedEngine } from '../detect.js';
import { nameBuilds } from '../builds.js';
import { installedBuilds } from '../mysql-common/binaries.js';
import { mariadbSection } from './config.js';

export async function detectMariadb(raw: RawConfig = {}): Promise<DetectedEngine[]> {
  const physicalBackups = Boolean(findExecutable('mariadb-backup') && findExecutable('mbstream'));
  return nameBuilds(await installedBuilds(configSection(raw, 'mariadb', mariadbSection)), majorMinor).map(({ version, name }) => ({
    manager: 'mariadb',
    version,
    name,
    ...(physicalBackups ? { replicationStrategy: 'MariaDBGTIDReplication' } : {}),
  }));
}
