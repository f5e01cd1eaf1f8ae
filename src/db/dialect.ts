// The few places where MySQL/MariaDB and SQLite (the all-in-one control database) differ.
import type { Knex } from 'knex';

export function isSqlite(db: Knex | Knex.Transaction): boolean {
  return String(db.client.config.client).includes('sqlite');
}

/** SELECT ... FOR UPDATE on MySQL; SQLite serialises writers itself. */
export function lockForUpdate<T extends Knex.QueryBuilder>(db: Knex | Knex.Transaction, q: T): T {
  return (isSqlite(db) ? q : q.forUpdate()) as T;
}

export async function listTables(db: Knex): Promise<string[]> {
  if (isSqlite(db)) {
    const rows = await db('sqlite_master').where({ type: 'table' }).whereNot('name', 'like', 'sqlite_%').select('name');
    return rows.map((r: { name: string }) => r.name);
  }
  const rows = (await db.raw('SHOW TABLES'))[0] as Array<Record<string, string>>;
  return rows.map((r) => Object.values(r)[0]!);
}
