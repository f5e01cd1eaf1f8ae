// A throwaway MariaDB database on the machine's server (root, 127.0.0.1:3306 unless
// TROVE_TEST_MYSQL_URL says otherwise), migrated, dropped when the test process ends.
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { parseConnectionUrl, type MysqlTarget } from '../../src/db/config.js';
import { syncSchema } from '../../src/db/migrate.js';
import { testSetting } from './settings.js';

function serverOnly(t: MysqlTarget) {
  return { host: t.host, port: t.port, user: t.user, password: t.password, ...(t.socketPath ? { socketPath: t.socketPath } : {}) };
}

export interface ThrowawayDb {
  db: Db;
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createThrowawayDb(options: { migrate?: boolean } = {}): Promise<ThrowawayDb> {
  const base = testSetting('TROVE_TEST_MYSQL_URL', 'mysql+pymysql://root:@127.0.0.1:3306/mysql');
  const target = parseConnectionUrl(base) as MysqlTarget;
  const name = `trove_test_${randomBytes(5).toString('hex')}`;
  const admin = knexFactory({ client: 'mysql2', connection: serverOnly(target) });
  await admin.raw('CREATE DATABASE ?? CHARACTER SET utf8mb4', [name]);
  await admin.destroy();
  const url = base.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
  const db = openDatabase({ connection: { ...target, database: name }, max_pool_size: 5 });
  if (options.migrate !== false) await syncSchema(db);
  return {
    db,
    url,
    name,
    async drop() {
      await db.destroy();
      const a = knexFactory({ client: 'mysql2', connection: serverOnly(target) });
      await a.raw('DROP DATABASE IF EXISTS ??', [name]);
      await a.destroy();
    },
  };
}

/** A throwaway SQLite control database (the all-in-one default), migrated. */
export async function createThrowawaySqlite(options: { migrate?: boolean } = {}): Promise<ThrowawayDb> {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = mkdtempSync(path.join(tmpdir(), 'trove-sqlite-'));
  const file = path.join(dir, 'trove.db');
  const db = openDatabase({ connection: { client: 'sqlite', filename: file }, max_pool_size: 1 });
  if (options.migrate !== false) await syncSchema(db);
  return {
    db,
    url: `sqlite:///${file}`,
    name: file,
    async drop() {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
