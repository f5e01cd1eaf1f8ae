// Opens the knex connection to the control database.
import knexFactory, { type Knex } from 'knex';
import type { DatabaseConfig, DatabaseTarget } from './config.js';

export type Db = Knex;

export function knexConfig(target: DatabaseTarget, poolMax = 10): Knex.Config {
  if (target.client === 'sqlite') {
    return {
      client: 'better-sqlite3',
      connection: { filename: target.filename },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate: (conn: { pragma(s: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
          conn.pragma('journal_mode = WAL');
          conn.pragma('foreign_keys = ON');
          conn.pragma('busy_timeout = 5000');
          done(null, conn);
        },
      },
    };
  }
  return {
    client: 'mysql2',
    connection: {
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      database: target.database,
      charset: target.charset,
      timezone: 'Z',
      dateStrings: false,
      supportBigNumbers: true,
      ...(target.socketPath ? { socketPath: target.socketPath } : {}),
    },
    pool: { min: 0, max: poolMax },
  };
}

export function openDatabase(config: DatabaseConfig): Db {
  return knexFactory(knexConfig(config.connection, config.max_pool_size));
}

/** Error codes of a control database that is down, paused, restarting or too busy: the same
 * statement may well succeed in a moment (as opposed to a refused or wrong statement). */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_QUERY_INTERRUPTED',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
]);

/** The control database could not be reached or was busy (try again later), not a refused statement. */
export function databaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'KnexTimeoutError') return true; // no connection from the pool in time
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
  return (err as { fatal?: unknown }).fatal === true; // mysql2: the connection itself failed
}
