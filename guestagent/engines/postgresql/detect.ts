// Is PostgreSQL installed here (Debian's /usr/lib/postgresql/<version>/bin), and which version?
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { versionOf, type DetectedEngine } from '../detect.js';

/** The newest installed /usr/lib/postgresql/<version>/bin holding a postgres binary. */
export function findBinDir(root = '/usr/lib/postgresql'): string | undefined {
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(path.join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined;
}

export async function detectPostgresql(binDir = findBinDir()): Promise<DetectedEngine | undefined> {
  if (!binDir) return undefined;
  const v = await versionOf(path.join(binDir, 'postgres'), /\(PostgreSQL\)\s+(\d+\.\d+)/);
  // Since PostgreSQL 10 the major version is one number: the version name is "15", not "15.20".
  return v ? { manager: 'postgresql', version: v, name: v.split('.')[0]!, replicationStrategy: 'PostgresqlReplication' } : undefined;
}
