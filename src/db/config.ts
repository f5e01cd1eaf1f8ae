// [database] section: the control database, as an oslo/SQLAlchemy URL.
import { z } from 'zod';
import { opt } from '../common/config/schema.js';

export interface MysqlTarget {
  client: 'mysql2';
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  charset: string;
  socketPath?: string;
}

export interface SqliteTarget {
  client: 'sqlite';
  filename: string;
}

export type DatabaseTarget = MysqlTarget | SqliteTarget;

const EXPECTED = 'expected mysql+pymysql://user:password@host:3306/trove (or mysql://, sqlite:///path)';

/** Parses an SQLAlchemy-style URL: mysql[+driver]://user:pass@host[:port]/db[?charset=..&unix_socket=..] or sqlite:///file. */
export function parseConnectionUrl(url: string): DatabaseTarget | string {
  const sqlite = /^sqlite:\/\/\/(.+)$/.exec(url);
  if (sqlite) return { client: 'sqlite', filename: sqlite[1]! };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return EXPECTED;
  }
  if (!/^mysql(\+[a-z0-9]+)?:$/.test(parsed.protocol)) return EXPECTED;
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) return `${EXPECTED} (no database name)`;
  const target: MysqlTarget = {
    client: 'mysql2',
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
    charset: parsed.searchParams.get('charset') ?? 'utf8mb4',
  };
  const socket = parsed.searchParams.get('unix_socket');
  if (socket) target.socketPath = socket;
  return target;
}

export const databaseSection = z.object({
  connection: z
    .string({ message: EXPECTED })
    .default('mysql+pymysql://root:@127.0.0.1:3306/trove')
    .transform((v, ctx) => {
      const t = parseConnectionUrl(v);
      if (typeof t === 'string') {
        ctx.addIssue({ code: 'custom', message: t });
        return z.NEVER;
      }
      return t;
    }),
  max_pool_size: opt.int(10, 1, 1000),
});

export type DatabaseConfig = z.output<typeof databaseSection>;
