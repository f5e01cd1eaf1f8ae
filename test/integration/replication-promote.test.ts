// Switchover and failover for real on the control plane (MariaDB): a source with two replicas;
// promoting one makes it the writable source of the set, the other replica and the old source
// replicate from it (read-only), the views follow, no row is lost; then that source dies (agent and
// engine killed): once its heartbeat is stale, eject makes the most current member the source and
// the other follows it.
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';

const PW = 'Promo-app-pw-1';
let cp: ControlPlane;

const ready = (i: Record<string, unknown> | undefined) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR';
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

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
async function eventually(fn: () => Promise<boolean>, ms = 30_000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(500)) if (await fn()) return true;
  return false;
}
const ipOf = (i: Record<string, unknown> | undefined) => (i!.ip as string[])[0]!;

/** The set after the switchover: its source and the two members replicating from it. */
let set: { source: string; members: string[] } | undefined;

test.serial('promote_to_replica_source: the replica becomes the source of the set, the old source and the other replica follow it', async (t) => {
  const s = await cp.http.post('/instances', {
    instance: {
      name: 'p-src',
      flavorRef: '1',
      volume: { size: 1 },
      datastore: { type: 'mariadb' },
      databases: [{ name: 'shop' }],
      users: [{ name: 'app', password: PW, databases: [{ name: 'shop' }] }],
    },
  });
  const old = await waitForInstance(cp.http, s.data.instance.id, ready);
  t.is(old?.status, 'ACTIVE');
  await sql(ipOf(old), 'CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB');
  await sql(ipOf(old), 'INSERT INTO t VALUES (1)');
  const r = await cp.http.post('/instances', { instance: { name: 'p-copy', replica_of: old!.id, replica_count: 2 } });
  t.is(r.status, 200, JSON.stringify(r.data));
  const list = ((await cp.http.get('/instances')).data.instances as Array<{ id: string; name: string }>).filter((x) => x.name.startsWith('p-copy-'));
  const [a, b] = ['p-copy-1', 'p-copy-2'].map((n) => list.find((x) => x.name === n)!.id);
  const ra = await waitForInstance(cp.http, a!, ready, 300_000);
  const rb = await waitForInstance(cp.http, b!, ready, 300_000);
  t.is(ra?.status, 'ACTIVE', JSON.stringify(ra?.fault));
  t.is(rb?.status, 'ACTIVE', JSON.stringify(rb?.fault));
  await sql(ipOf(old), 'INSERT INTO t VALUES (2)');

  const p = await cp.http.post(`/instances/${a}/action`, { promote_to_replica_source: {} });
  t.is(p.status, 202, JSON.stringify(p.data));
  const settled = async (id: string) =>
    waitForInstance(cp.http, id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR', 180_000);
  const na = await settled(a!);
  t.is(na?.status, 'ACTIVE', JSON.stringify(na?.fault));
  const nb = await settled(b!);
  const no = await settled(old!.id as string);
  t.is(nb?.status, 'ACTIVE', JSON.stringify(nb?.fault));
  t.is(no?.status, 'ACTIVE', JSON.stringify(no?.fault));
  t.false('replica_of' in na!);
  t.deepEqual(((na!.replicas as Array<{ id: string }>) ?? []).map((x) => x.id).sort(), [b!, old!.id as string].sort());
  t.is((nb!.replica_of as { id: string }).id, a!);
  t.is((no!.replica_of as { id: string }).id, a!);
  t.false('replicas' in no!);

  // writes go to the new source and reach both others; the old source is read-only now
  t.deepEqual(await ids(ipOf(na)), [1, 2]);
  await sql(ipOf(na), 'INSERT INTO t VALUES (3)');
  t.true(await eventually(async () => (await ids(ipOf(nb!))).includes(3)), 'the other replica follows the new source');
  t.true(await eventually(async () => (await ids(ipOf(no!))).includes(3)), 'the old source follows the new source');
  const refused = await t.throwsAsync(sql(ipOf(no), 'INSERT INTO t VALUES (9)'));
  t.regex(refused!.message, /read.only/i);
  t.is((await cp.http.delete(`/instances/${a}`)).status, 403, 'the new source has replicas');
  set = { source: a!, members: [b!, old!.id as string] };
});

test.serial(
  'eject_replica_source: the source dies; once its heartbeat is stale the most current member becomes the source, the other follows it',
  async (t) => {
    if (!set) return t.fail('needs the switchover test');
    const { source, members } = set;
    const srcIp = ipOf((await cp.http.get(`/instances/${source}`)).data.instance);
    await sql(srcIp, 'INSERT INTO t VALUES (4)');
    for (const m of members) {
      const ip = ipOf((await cp.http.get(`/instances/${m}`)).data.instance);
      t.true(await eventually(async () => (await ids(ip)).includes(4)), 'every member has the last row before the source dies');
    }
    // the source's agent and engine die (killed by their pids, as the local compute driver records them)
    const dir = path.join(cp.stateDir, 'servers', source);
    const agentDir = path.join(dir, 'agent');
    const pids = [
      Number(readFileSync(path.join(dir, 'agent.pid'), 'utf8')),
      ...(existsSync(agentDir)
        ? readdirSync(agentDir)
            .filter((f) => f.endsWith('.pid'))
            .map((f) => Number(readFileSync(path.join(agentDir, f), 'utf8')))
        : []),
    ];
    for (const pid of pids.filter(Boolean)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    const alive = await cp.http.post(`/instances/${source}/action`, { eject_replica_source: {} });
    t.is(alive.status, 400, 'its heartbeat is still recent');
    t.regex(alive.data.badRequest.message, /cannot be ejected as it has a current heartbeat/);
    let ejected = alive;
    for (const until = Date.now() + 60_000; ejected.status === 400 && Date.now() < until; await sleep(1000)) {
      ejected = await cp.http.post(`/instances/${source}/action`, { eject_replica_source: {} });
    }
    t.is(ejected.status, 202, JSON.stringify(ejected.data));
    let shown: Array<Record<string, any>> = [];
    for (const until = Date.now() + 120_000; Date.now() < until; await sleep(1000)) {
      shown = await Promise.all(members.map(async (m) => (await cp.http.get(`/instances/${m}`)).data.instance));
      if (shown.every((i) => i.status === 'ACTIVE' && i.operating_status === 'HEALTHY') && shown.some((i) => !i.replica_of)) break;
    }
    const newSource = shown.find((i) => !i.replica_of);
    t.truthy(newSource, JSON.stringify(shown.map((i) => [i.id, i.status, i.replica_of, i.fault])));
    const follower = shown.find((i) => i !== newSource)!;
    t.is(follower.replica_of?.id, newSource!.id);
    t.deepEqual(
      newSource!.replicas.map((x: { id: string }) => x.id),
      [follower.id],
    );
    await sql(ipOf(newSource), 'INSERT INTO t VALUES (5)');
    t.true(await eventually(async () => (await ids(ipOf(follower))).includes(5)), 'the other member follows the new source');
    t.deepEqual(await ids(ipOf(newSource)), [1, 2, 3, 4, 5]);
    const dead = (await cp.http.get(`/instances/${source}`)).data.instance;
    t.false('replicas' in dead, 'the dead source is out of the set');
    t.is((await cp.http.delete(`/instances/${source}`)).status, 202, 'and can be deleted');
    await waitForInstance(cp.http, source, (_i, status) => status === 404, 120_000);
  },
);
