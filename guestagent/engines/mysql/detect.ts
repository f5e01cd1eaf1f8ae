// Is Oracle MySQL installed here (not MariaDB's mysqld), and which version?
import { majorMinor, versionOf, type DetectedEngine } from '../detect.js';

export async function detectMysql(bin = '/usr/sbin/mysqld'): Promise<DetectedEngine | undefined> {
  const text = await versionOf(bin, /([\s\S]*)/);
  if (!text || /MariaDB/i.test(text)) return undefined;
  const v = /Ver\s+(\d+\.\d+\.\d+)/.exec(text)?.[1];
  return v ? { manager: 'mysql', version: v, name: majorMinor(v) } : undefined;
}
