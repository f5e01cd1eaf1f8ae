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
