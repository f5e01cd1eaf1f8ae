// Redis replication for real on the all-in-one control plane (RedisSyncReplication): a source with
// keys, two replicas made with replica_of go ACTIVE with them (built from the source's RDB backup,
// then REPLICAOF), follow new writes and refuse a user's write (READONLY) with their own root;
// promote_to_replica_source switches the set (the old source and the other replica follow the new
// one); that source dies and eject_replica_source makes the most current member the source (its
// last key there), the other following it; detach makes that one writable and independent. No
// password in the control plane's logs.
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';

let cp: ControlPlane;
const ready = (i: Record<string, unknown> | undefined) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR';
const ipOf = (i: Record<string, unknown> | undefined) => (i!.ip as string[])[0]!;
const passwords: string[] = [];

test.before(async () => {
  cp = await startControlPlane({ config: { DEFAULT: { agent_heartbeat_expiry: '10' }, redis: { replication_strategy: 'RedisSyncReplication' } } });
  await registerDatastore(cp.tdb.db, { name: 'redis', version: '7.0' });
});
test.after.always(() => cp?.stop());

async function redis<T>(ip: string, password: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({
    host: ip,
    port: 6379,
    password,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    disableClientInfo: true,
  });
  r.on('error', () => undefined);
  await r.connect();
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

async function eventually(fn: () => Promise<boolean>, ms = 30_000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until;) {
    if (await fn().catch(() => false)) return true;
    await new Promise((res) => setTimeout(res, 300));
  }
  return false;
}

async function rootOf(id: string): Promise<string> {
  const en = await cp.http.post(`/instances/${id}/root`, {});
  if (en.status !== 200) throw new Error(`root enable: ${en.status} ${JSON.stringify(en.data)}`);
  passwords.push(en.data.user.password);
  return en.data.user.password as string;
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const show = async (id: string) => (await cp.http.get(`/instances/${id}`)).data.instance as Record<string, any>;

test.serial('Redis replicas follow their source and refuse writes; promote switches the set; eject after the source dies; detach frees a member', async (t) => {
  const s = await cp.http.post('/instances', { instance: { name: 'kv-src', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis' } } });
  t.is(s.status, 200, JSON.stringify(s.data));
  const src = await waitForInstance(cp.http, s.data.instance.id, ready);
  t.is(src?.status, 'ACTIVE', JSON.stringify(src?.fault));
  const srcId = src!.id as string;
  const pw: Record<string, string> = { [srcId]: await rootOf(srcId) };
  const get = async (id: string, key: string) => redis(ipOf(await show(id)), pw[id]!, (c) => c.get(key));
  const set = async (id: string, key: string) => redis(ipOf(await show(id)), pw[id]!, (c) => c.set(key, '1'));
  await redis(ipOf(src), pw[srcId]!, async (r) => {
    for (let i = 0; i < 50; i++) await r.set(`k:${i}`, `v${i}`);
  });

  const r = await cp.http.post('/instances', { instance: { name: 'kv-copy', replica_of: srcId, replica_count: 2 } });
  t.is(r.status, 200, JSON.stringify(r.data));
  const list = ((await cp.http.get('/instances')).data.instances as Array<{ id: string; name: string }>).filter((x) => x.name.startsWith('kv-copy-'));
  const [a, b] = ['kv-copy-1', 'kv-copy-2'].map((n) => list.find((x) => x.name === n)!.id) as [string, string];
  for (const id of [a, b]) {
    const rep = await waitForInstance(cp.http, id, ready, 180_000);
    t.is(rep?.status, 'ACTIVE', JSON.stringify(rep?.fault));
    t.is((rep!.replica_of as { id: string }).id, srcId);
    // root is the replica's own (Redis does not replicate its ACL)
    pw[id] = await rootOf(id);
    t.is(await get(id, 'k:49'), 'v49');
  }
  await set(srcId, 'after');
  for (const id of [a, b]) t.true(await eventually(async () => (await get(id, 'after')) === '1'), 'a new key on the source arrives');
  await t.throwsAsync(set(a, 'no'), { message: /READONLY/ });

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
  for (const id of [srcId, b]) t.true(await eventually(async () => (await get(id, 'on-new-source')) === '1'), 'the others follow the new source');
  await t.throwsAsync(set(srcId, 'no'), { message: /READONLY/ });
  t.is(await get(srcId, 'k:0'), 'v0');

  // failover: a dies (its agent and engine killed by their pids, as the local compute driver records them)
  await set(a, 'before-death');
  for (const id of [srcId, b])
    t.true(await eventually(async () => (await get(id, 'before-death')) === '1'), 'every member has the last key before the source dies');
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
  t.is(await get(newSource!.id, 'before-death'), '1');
  await set(newSource!.id, 'after-eject');
  t.true(await eventually(async () => (await get(follower.id, 'after-eject')) === '1'), 'the other member follows the new source');

  // detach the follower: writable, independent
  const d = await cp.http.put(`/instances/${follower.id}`, { instance: { replica_of: null } });
  t.is(d.status, 202, JSON.stringify(d.data));
  const done = await waitForInstance(cp.http, follower.id, (i) => (i?.status === 'ACTIVE' && !('replica_of' in i)) || i?.status === 'ERROR', 120_000);
  t.is(done?.status, 'ACTIVE', JSON.stringify(done?.fault));
  await set(follower.id, 'mine');
  await set(newSource!.id, 'not-for-it');
  await sleep(1500);
  t.is(await get(follower.id, 'not-for-it'), null);
  const logs = cp.logs.join('');
  for (const secret of passwords) t.false(logs.includes(secret));
});
