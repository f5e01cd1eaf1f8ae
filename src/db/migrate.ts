// Applies the migrations in migrations/ (knex migrator with our own file source, so the files load
// through the same loader as the rest of the code: the TypeScript under tsx, dist/migrations/*.js
// in the compiled services). Re-running is a no-op.
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import type { Knex } from 'knex';
import type { Db } from './connection.js';
import { isSqlite, listTables } from './dialect.js';

/** migrations/ beside src/: the sources' from src/db, dist/migrations from dist/src/db. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

const MIGRATION_FILE = /^(\d{14}_[a-z0-9_]+)\.(ts|js)$/;

interface MigrationModule {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

class DirectorySource implements Knex.MigrationSource<string> {
  constructor(private readonly dir: string) {}

  async getMigrations(): Promise<string[]> {
    return readdirSync(this.dir)
      .filter((f) => MIGRATION_FILE.test(f))
      .sort();
  }

  /** Recorded as <stem>.ts whichever file ran it: a database migrated by the sources and by the compiled services is the same. */
  getMigrationName(migration: string): string {
    return `${MIGRATION_FILE.exec(migration)![1]}.ts`;
  }

  async getMigration(migration: string): Promise<MigrationModule> {
    return (await import(pathToFileURL(path.join(this.dir, migration)).href)) as MigrationModule;
  }
}

export interface SyncResult {
  applied: string[];
}

export async function syncSchema(db: Db, dir = MIGRATIONS_DIR): Promise<SyncResult> {
  const [, applied] = (await db.migrate.latest({
    migrationSource: new DirectorySource(dir),
    tableName: 'migrate_version',
  })) as [number, string[]];
  return { applied };
}

export async function pendingMigrations(db: Db, dir = MIGRATIONS_DIR): Promise<string[]> {
  const [, pending] = (await db.migrate.list({
    migrationSource: new DirectorySource(dir),
    tableName: 'migrate_version',
  })) as [unknown[], Array<{ file: string } | string>];
  return pending.map((p) => (typeof p === 'string' ? p : p.file));
}

/** Drops every table of the control database (trove-manage db_recreate); returns how many. */
export async function dropAllTables(db: Db): Promise<number> {
  const tables = await listTables(db);
  const sqlite = isSqlite(db);
  await db.raw(sqlite ? 'PRAGMA foreign_keys = OFF' : 'SET FOREIGN_KEY_CHECKS = 0');
  for (const t of tables) await db.schema.dropTableIfExists(t);
  await db.raw(sqlite ? 'PRAGMA foreign_keys = ON' : 'SET FOREIGN_KEY_CHECKS = 1');
  return tables.length;
}
