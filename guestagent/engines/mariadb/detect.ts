// Is MariaDB installed here, and which version?
import { majorMinor, versionOf, type DetectedEngine } from '../detect.js';

export async function detectMariadb(bin = '/usr/sbin/mariadbd'): Promise<DetectedEngine | undefined> {
  const v = await versionOf(bin, /Ver\s+(\d+\.\d+\.\d+)-MariaDB/);
  return v ? { manager: 'mariadb', version: v, name: majorMinor(v) } : undefined;
}
