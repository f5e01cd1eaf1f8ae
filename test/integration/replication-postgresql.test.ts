// PostgreSQL replication for real on the all-in-one control plane (PostgresqlReplication): a source
// with rows, two replicas made with replica_of go ACTIVE with them (built from the source's
// pg_basebackup, then pg_rewind and streaming), follow new rows and refuse a user's write (read-only
// transaction); promote_to_replica_source switches the set (the old source and the other replica
// follow the new one, pg_rewind); that source dies and eject_replica_source makes the most current
// member the source (its last row there), the other following it; detach makes that one writable
// and independent (test/helpers/replica-set.ts replicaSetWalk). No password in the control plane's logs.
import test from 'ava';
import pg from 'pg';
import { startControlPlane, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';
import { createSource, ipOf, replicaSetWalk, show } from '../helpers/replica-set.js';
import { detectPostgresql } from '../../guestagent/engines/postgresql/detect.js';

let cp: ControlPlane;
const PW = 'Pg-repl-app-pw-1';

test.before(async () => {
  const v = await detectPostgresql();
  if (!v) throw new Error('PostgreSQL is not installed (/usr/lib/postgresql/<version>/bin)');
  cp = await startControlPlane({ config: { DEFAULT: { agent_heartbeat_expiry: '10' }, postgresql: { replication_strategy: 'PostgresqlReplication' } } });
  await registerDatastore(cp.tdb.db, { name: 'postgresql', version: v.name });
});
test.after.always(() => cp?.stop());

async function sql<T extends pg.QueryResultRow>(ip: string, text: string): Promise<T[]> {
  const c = new pg.Client({ host: ip, port: 5432, user: 'app', password: PW, database: 'shop', connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end().catch(() => undefined);
  }
}

test.serial(
  'PostgreSQL replicas follow their source and refuse writes; promote switches the set; eject after the source dies; detach frees a member',
  async (t) => {
    const src = await createSource(cp, {
      name: 'pg-src',
      datastore: { type: 'postgresql' },
      databases: [{ name: 'shop' }],
      users: [{ name: 'app', password: PW, databases: [{ name: 'shop' }] }],
    });
    await sql(ipOf(src), 'CREATE TABLE kv (k TEXT PRIMARY KEY)');
    await sql(ipOf(src), "INSERT INTO kv SELECT 'k:' || i FROM generate_series(0, 49) i");
    await replicaSetWalk(t, cp, src.id, 'pg-copy', 'k:49', {
      write: async (id, key) => void (await sql(ipOf(await show(cp, id)), `INSERT INTO kv VALUES ('${key}')`)),
      has: async (id, key) => (await sql<{ n: number }>(ipOf(await show(cp, id)), `SELECT count(*)::int AS n FROM kv WHERE k = '${key}'`))[0]!.n === 1,
      readOnly: /read-only transaction/,
    });
    const logs = cp.logs.join('');
    t.false(logs.includes(PW));
  },
);
