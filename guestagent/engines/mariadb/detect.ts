// Is MariaDB installed here, and which version? Replicas are built from a physical backup, so
// replication is offered only where mariadb-backup and mbstream are installed too.
import { findExecutable } from '../../backup/process-stream.js';
import { majorMinor, versionOf, type DetectedEngine } from '../detect.js';

export async function detectMariadb(bin = '/usr/sbin/mariadbd'): Promise<DetectedEngine | undefined> {
  const v = await versionOf(bin, /Ver\s+(\d+\.\d+\.\d+)-MariaDB/);
  if (!v) return undefined;
  const physicalBackups = Boolean(findExecutable('mariadb-backup') && findExecutable('mbstream'));
  return { manager: 'mariadb', version: v, name: majorMinor(v), ...(physicalBackups ? { replicationStrategy: 'MariaDBGTIDReplication' } : {}) };
}
