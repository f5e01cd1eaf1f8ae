// PostgreSQL replication for real on the all-in-one control plane (PostgresqlReplication): a source
// with rows, two replicas made with replica_of go ACTIVE with them (built from the source's
// pg_basebackup, then pg_rewind and streaming), follow new rows and refuse a user's write (read-only
// transaction); promote_to_replica_source switches the set (the old source and the other replica
// follow the new one, pg_rewind); that source dies and eject_replica_source makes the most current
// member the source (its last row there), the other following it; detach makes that one writable
// and independent. No password in the control plane's logs.
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';
import { detectPostgresql } from '../../guestagent/engines/postgresql/detect.js';

let cp: ControlPlane;
const ready = (i: Record<string, unknown> | undefined) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR';
const ipOf = (i: Record<string, unknown> | undefined) => (i!.ip as string[])[0]!;
const PW = 'Pg-repl-app-pw-1';
const passwords: string[] = [PW];

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

async function eventually(fn: () => Promise<boolean>, ms = 30_000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until;) {
    if (await fn().catch(() => false)) return true;
    await new Promise((res) => setTimeout(res, 300));
  }
  return false;
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const show = async (id: string) => (await cp.http.get(`/instances/${id}`)).data.instance as Record<string, any>;

test.serial(
  'PostgreSQL replicas follow their source and refuse writes; promote switches the set; eject after the source dies; detach frees a member',
  async (t) => {
    const s = await cp.http.post('/instances', {
      instance: {
        name: 'pg-src',
        flavorRef: '1',
        volume: { size: 1 },
        datastore: { type: 'postgresql' },
        databases: [{ name: 'shop' }],
        users: [{ name: 'app', password: PW, databases: [{ name: 'shop' }] }],
      },
    });
    t.is(s.status, 200, JSON.stringify(s.data));
    const src = await waitForInstance(cp.http, s.data.instance.id, ready);
    t.is(src?.status, 'ACTIVE', JSON.stringify(src?.fault));
    const srcId = src!.id as string;
    const has = async (id: string, key: string) =>
      (await sql<{ n: number }>(ipOf(await show(id)), `SELECT count(*)::int AS n FROM kv WHERE k = '${key}'`))[0]!.n === 1;
    const set = async (id: string, key: string) => void (await sql(ipOf(await show(id)), `INSERT INTO kv VALUES ('${key}')`));
    await sql(ipOf(src), 'CREATE TABLE kv (k TEXT PRIMARY KEY)');
    await sql(ipOf(src), "INSERT INTO kv SELECT 'k:' || i FROM generate_series(0, 49) i");

    const r = await cp.http.post('/instances', { instance: { name: 'pg-copy', replica_of: srcId, replica_count: 2 } });
    t.is(r.status, 200, JSON.stringify(r.data));
    const list = ((await cp.http.get('/instances')).data.instances as Array<{ id: string; name: string }>).filter((x) => x.name.startsWith('pg-copy-'));
    const [a, b] = ['pg-copy-1', 'pg-copy-2'].map((n) => list.find((x) => x.name === n)!.id) as [string, string];
    for (const id of [a, b]) {
      const rep = await waitForInstance(cp.http, id, ready, 180_000);
      t.is(rep?.status, 'ACTIVE', JSON.stringify(rep?.fault));
      t.is((rep!.replica_of as { id: string }).id, srcId);
      t.true(await has(id, 'k:49'));
    }
    await set(srcId, 'after');
    for (const id of [a, b]) t.true(await eventually(() => has(id, 'after')), 'a new row on the source arrives');
    await t.throwsAsync(set(a, 'no'), { message: /read-only transaction/ });

    // switchover to a
    const p = await cp.http.post(`/instances/${a}/action`, { promote_to_replica_source: {} });
    t.is(p.status, 202, JSON.stringify(p.data));
    const settled = async (id: string) =>
      waitForInstance(cp.http, id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR', 180_000);
    for (const id of [a, b, srcId]) t.is((await settled(id))?.status, 'ACTIVE', JSON.stringify((await show(id)).fault));
    t.false('replica_of' in (await show(a)));
    t.is((await show(srcId)).replica_of?.id, a);
    t.is((await show(b)).replica_of?.id, a);
    await set(a, 'on-new-source');
    for (const id of [srcId, b]) t.true(await eventually(() => has(id, 'on-new-source')), 'the others follow the new source');
    await t.throwsAsync(set(srcId, 'no'), { message: /read-only transaction/ });
    t.true(await has(srcId, 'k:0'));

    // failover: a dies (its agent and engine killed by their pids, as the local compute driver records them)
    await set(a, 'before-death');
    for (const id of [srcId, b]) t.true(await eventually(() => has(id, 'before-death')), 'every member has the last row before the source dies');
    const dir = path.join(cp.stateDir, 'servers', a);
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
    let ejected = await cp.http.post(`/instances/${a}/action`, { eject_replica_source: {} });
    for (const until = Date.now() + 60_000; ejected.status === 400 && Date.now() < until; await sleep(1000)) {
      ejected = await cp.http.post(`/instances/${a}/action`, { eject_replica_source: {} });
    }
    t.is(ejected.status, 202, JSON.stringify(ejected.data));
    let members: Array<Record<string, any>> = [];
    for (const until = Date.now() + 120_000; Date.now() < until; await sleep(1000)) {
      members = await Promise.all([srcId, b].map(show));
      if (members.every((i) => i.status === 'ACTIVE' && i.operating_status === 'HEALTHY') && members.some((i) => !i.replica_of)) break;
    }
    const newSource = members.find((i) => !i.replica_of);
    t.truthy(newSource, JSON.stringify(members.map((i) => [i.id, i.status, i.replica_of, i.fault])));
    const follower = members.find((i) => i !== newSource)!;
    t.is(follower.replica_of?.id, newSource!.id);
    t.true(await has(newSource!.id, 'before-death'));
    await set(newSource!.id, 'after-eject');
    t.true(await eventually(() => has(follower.id, 'after-eject')), 'the other member follows the new source');

    // detach the follower: writable, independent
    const d = await cp.http.put(`/instances/${follower.id}`, { instance: { replica_of: null } });
    t.is(d.status, 202, JSON.stringify(d.data));
    const done = await waitForInstance(cp.http, follower.id, (i) => (i?.status === 'ACTIVE' && !('replica_of' in i)) || i?.status === 'ERROR', 120_000);
    t.is(done?.status, 'ACTIVE', JSON.stringify(done?.fault));
    await set(follower.id, 'mine');
    await set(newSource!.id, 'not-for-it');
    await sleep(1500);
    t.false(await has(follower.id, 'not-for-it'));
    const logs = cp.logs.join('');
    for (const secret of passwords) t.false(logs.includes(secret));
  },
);
