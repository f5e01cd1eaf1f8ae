// Switchover and failover for real on the control plane (MariaDB): a source with two replicas;
// promoting one makes it the writable source of the set, the other replica and the old source
// replicate from it (read-only), the views follow, no row is lost; then that source dies (agent and
// engine killed): once its heartbeat is stale, eject makes the most current member the source and
// the other follows it.
import test from 'ava';
import mysql from 'mysql2/promise';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';
import { createReplicas, createSource, ejectSource, eventually, ipOf, killServer, newSourceOf, promoteToSource, show } from '../helpers/replica-set.js';

const PW = 'Promo-app-pw-1';
let cp: ControlPlane;

test.before(async () => {
  cp = await startControlPlane({ config: { DEFAULT: { agent_heartbeat_expiry: '10' }, mariadb: { replication_strategy: 'MariaDBGTIDReplication' } } });
  await registerDatastore(cp.tdb.db);
});
test.after.always(() => cp?.stop());

async function sql(ip: string, statement: string): Promise<unknown[]> {
  const c = await mysql.createConnection({ host: ip, user: 'app', password: PW, database: 'shop' });
  try {
    return (await c.query(statement))[0] as unknown[];
  } finally {
    await c.end();
  }
}
const ids = async (ip: string) => ((await sql(ip, 'SELECT id FROM t ORDER BY id')) as Array<{ id: number }>).map((r) => r.id);

/** The set after the switchover: its source and the two members replicating from it. */
let set: { source: string; members: string[] } | undefined;

test.serial('promote_to_replica_source: the replica becomes the source of the set, the old source and the other replica follow it', async (t) => {
  const old = await createSource(cp, {
    name: 'p-src',
    datastore: { type: 'mariadb' },
    databases: [{ name: 'shop' }],
    users: [{ name: 'app', password: PW, databases: [{ name: 'shop' }] }],
  });
  await sql(ipOf(old), 'CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB');
  await sql(ipOf(old), 'INSERT INTO t VALUES (1)');
  const [a, b] = (await createReplicas(cp, old.id, 'p-copy', 2, 300_000)) as [string, string];
  await sql(ipOf(old), 'INSERT INTO t VALUES (2)');

  await promoteToSource(cp, a, [a, b, old.id]);
  const [na, nb, no] = await Promise.all([a, b, old.id as string].map((id) => show(cp, id)));
  t.false('replica_of' in na!);
  t.deepEqual(((na!.replicas as Array<{ id: string }>) ?? []).map((x) => x.id).sort(), [b, old.id as string].sort());
  t.is(nb!.replica_of?.id, a);
  t.is(no!.replica_of?.id, a);
  t.false('replicas' in no!);

  // writes go to the new source and reach both others; the old source is read-only now
  t.deepEqual(await ids(ipOf(na)), [1, 2]);
  await sql(ipOf(na), 'INSERT INTO t VALUES (3)');
  t.true(await eventually(async () => (await ids(ipOf(nb!))).includes(3)), 'the other replica follows the new source');
  t.true(await eventually(async () => (await ids(ipOf(no!))).includes(3)), 'the old source follows the new source');
  const refused = await t.throwsAsync(sql(ipOf(no), 'INSERT INTO t VALUES (9)'));
  t.regex(refused!.message, /read.only/i);
  t.is((await cp.http.delete(`/instances/${a}`)).status, 403, 'the new source has replicas');
  set = { source: a, members: [b, old.id as string] };
});

test.serial(
  'eject_replica_source: the source dies; once its heartbeat is stale the most current member becomes the source, the other follows it',
  async (t) => {
    if (!set) return t.fail('needs the switchover test');
    const { source, members } = set;
    await sql(ipOf(await show(cp, source)), 'INSERT INTO t VALUES (4)');
    for (const m of members) {
      const ip = ipOf(await show(cp, m));
      t.true(await eventually(async () => (await ids(ip)).includes(4)), 'every member has the last row before the source dies');
    }
    // the source's agent and engine die
    killServer(cp, source);
    const alive = await cp.http.post(`/instances/${source}/action`, { eject_replica_source: {} });
    t.is(alive.status, 400, 'its heartbeat is still recent');
    t.regex(alive.data.badRequest.message, /cannot be ejected as it has a current heartbeat/);
    const ejected = await ejectSource(cp, source);
    t.is(ejected.status, 202, JSON.stringify(ejected.data));
    const { newSource, followers } = await newSourceOf(cp, members);
    const [follower] = followers as [Record<string, any>];
    t.is(follower.replica_of?.id, newSource.id);
    t.deepEqual(
      newSource.replicas.map((x: { id: string }) => x.id),
      [follower.id],
    );
    await sql(ipOf(newSource), 'INSERT INTO t VALUES (5)');
    t.true(await eventually(async () => (await ids(ipOf(follower))).includes(5)), 'the other member follows the new source');
    t.deepEqual(await ids(ipOf(newSource)), [1, 2, 3, 4, 5]);
    const dead = await show(cp, source);
    t.false('replicas' in dead, 'the dead source is out of the set');
    t.is((await cp.http.delete(`/instances/${source}`)).status, 202, 'and can be deleted');
    await waitForInstance(cp.http, source, (_i, status) => status === 404, 120_000);
  },
);
