// A replica's replication lag in its engine metrics (issue 15 item 3), on a real MariaDB replica set
// through the control plane: the replica reports its lag in seconds and bytes with its heartbeats
// (GET /ts/instances/{id}/metrics), the source reports none (null), and a row written on the source
// is applied with the lag back at 0.
import test from 'ava';
import mysql from 'mysql2/promise';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';
import { createSource, eventually, ipOf, ready } from '../helpers/replica-set.js';

const PW = 'Lag-app-pw-1';
let cp: ControlPlane;

test.before(async () => {
  cp = await startControlPlane({ config: { DEFAULT: { metrics_history_interval: '1' }, mariadb: { replication_strategy: 'MariaDBGTIDReplication' } } });
  await registerDatastore(cp.tdb.db);
});
test.after.always(() => cp?.stop());

type Latest = { replication_lag_seconds: number | null; replication_lag_bytes: number | null } | null;
const latest = async (id: string): Promise<Latest> => (await cp.http.get(`/ts/instances/${id}/metrics`)).data.metrics.latest as Latest;

test('a replica reports its replication lag in seconds and bytes; the source reports none', async (t) => {
  const source = await createSource(cp, {
    name: 'lag-src',
    datastore: { type: 'mariadb' },
    databases: [{ name: 'shop' }],
    users: [{ name: 'app', password: PW, databases: [{ name: 'shop' }] }],
  });
  const r = await cp.http.post('/instances', { instance: { name: 'lag-copy', replica_of: source.id } });
  t.is(r.status, 200, JSON.stringify(r.data));
  const replica = r.data.instance.id as string;
  const made = await waitForInstance(cp.http, replica, ready, 300_000);
  t.is(made?.status, 'ACTIVE', JSON.stringify(made?.fault));
  const c = await mysql.createConnection({ host: ipOf(source), user: 'app', password: PW, database: 'shop' });
  t.teardown(() => c.end().catch(() => undefined));
  await c.query('CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB');
  await c.query('INSERT INTO t VALUES (1), (2), (3)');

  let seen: Latest = null;
  const caughtUp = await eventually(
    async () => {
      seen = await latest(replica);
      return seen?.replication_lag_seconds === 0 && seen?.replication_lag_bytes === 0;
    },
    90_000,
    1000,
  );
  t.true(caughtUp, `the replica's latest metrics: ${JSON.stringify(seen)}`);
  const src = await latest(source.id as string);
  t.not(src, null, 'the source reports metrics');
  t.is(src!.replication_lag_seconds, null, 'a source has no lag');
  t.is(src!.replication_lag_bytes, null);
});
