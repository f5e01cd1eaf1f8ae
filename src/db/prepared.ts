// The hot reads (a page of instances, one instance) as server-side prepared statements: MySQL and
// MariaDB parse each text once per pooled connection (mysql2 `execute`, which keeps the statement
// per connection) and the rows come back in the binary protocol; knex builds nothing per request.
// On SQLite, knex's raw query. Knex's 'query' event is emitted as for its own queries, so the
// query counts (test/integration/api-list-queries.test.ts) and any query log see these too.
import type { Knex } from 'knex';
import type { Db } from './connection.js';
import { isSqlite } from './dialect.js';

export type Row = Record<string, unknown>;

interface PooledConnection {
  __knexUid?: string;
  execute(sql: string, values: Knex.Value[], cb: (err: Error | null, rows: unknown) => void): void;
}

interface PoolClient {
  acquireConnection(): Promise<PooledConnection>;
  releaseConnection(c: PooledConnection): Promise<unknown>;
}

/** The rows of a SELECT whose text is fixed (only its `?` bindings vary: no IN lists of varying length, so the statements stay few). */
export async function selectPrepared(db: Db, sql: string, bindings: Knex.Value[]): Promise<Row[]> {
  if (isSqlite(db)) return (await db.raw(sql, bindings)) as Row[];
  const client = db.client as unknown as PoolClient;
  const connection = await client.acquireConnection();
  try {
    db.emit('query', { sql, bindings, method: 'select', __knexUid: connection.__knexUid });
    return await new Promise<Row[]>((resolve, reject) => connection.execute(sql, bindings, (err, rows) => (err ? reject(err) : resolve(rows as Row[]))));
  } finally {
    await client.releaseConnection(connection);
  }
}
