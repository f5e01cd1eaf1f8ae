// Redis replication for real on the all-in-one control plane (RedisSyncReplication): a source with
// keys, a replica made with replica_of goes ACTIVE with them (built from the source's RDB backup,
// then REPLICAOF), follows new writes and refuses a user's write (READONLY) with its own root;
// promote_to_replica_source switches them (the old source follows the new one, new keys reach it);
// detach makes the old source writable and independent. No password in the control plane's logs.
import test from 'ava';
import { Redis } from 'ioredis';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';

let cp: ControlPlane;
const ready = (i: Record<string, unknown> | undefined) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR';
const ipOf = (i: Record<string, unknown> | undefined) => (i!.ip as string[])[0]!;
const passwords: string[] = [];

test.before(async () => {
  cp = await startControlPlane({ config: { redis: { replication_strategy: 'RedisSyncReplication' } } });
  await registerDatastore(cp.tdb.db, { name: 'redis', version: '7.0' });
});
test.after.always(() => cp?.stop());

async function redis<T>(ip: string, password: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({ host: ip, port: 6379, password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, enableReadyCheck: false, disableClientInfo: true });
  r.on('error', () => undefined);
  await r.connect();
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

async function eventually(fn: () => Promise<boolean>, ms = 30_000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; ) {
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

test.serial('a Redis replica follows its source, refuses writes; promote switches them; detach frees the old source', async (t) => {
  const s = await cp.http.post('/instances', { instance: { name: 'kv-src', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis' } } });
  t.is(s.status, 200, JSON.stringify(s.data));
  const src = await waitForInstance(cp.http, s.data.instance.id, ready);
  t.is(src?.status, 'ACTIVE', JSON.stringify(src?.fault));
  const srcPw = await rootOf(src!.id as string);
  await redis(ipOf(src), srcPw, async (r) => {
    for (let i = 0; i < 50; i++) await r.set(`k:${i}`, `v${i}`);
  });

  const r = await cp.http.post('/instances', { instance: { name: 'kv-copy', replica_of: src!.id } });
  t.is(r.status, 200, JSON.stringify(r.data));
  const rep = await waitForInstance(cp.http, r.data.instance.id, ready, 180_000);
  t.is(rep?.status, 'ACTIVE', JSON.stringify(rep?.fault));
  t.is((rep!.replica_of as { id: string }).id, src!.id as string);
  // root is the replica's own (Redis does not replicate its ACL)
  const repPw = await rootOf(rep!.id as string);
  t.is(await redis(ipOf(rep), repPw, (c) => c.get('k:49')), 'v49');
  await redis(ipOf(src), srcPw, (c) => c.set('after', '1'));
  t.true(await eventually(async () => (await redis(ipOf(rep), repPw, (c) => c.get('after'))) === '1'), 'a new key on the source arrives');
  await t.throwsAsync(redis(ipOf(rep), repPw, (c) => c.set('no', '1')), { message: /READONLY/ });

  // switchover
  const p = await cp.http.post(`/instances/${rep!.id}/action`, { promote_to_replica_source: {} });
  t.is(p.status, 202, JSON.stringify(p.data));
  const settled = async (id: string) => waitForInstance(cp.http, id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR', 180_000);
  const na = await settled(rep!.id as string);
  const no = await settled(src!.id as string);
  t.is(na?.status, 'ACTIVE', JSON.stringify(na?.fault));
  t.is(no?.status, 'ACTIVE', JSON.stringify(no?.fault));
  t.false('replica_of' in na!);
  t.is((no!.replica_of as { id: string }).id, rep!.id as string);
  await redis(ipOf(na), repPw, (c) => c.set('on-new-source', '1'));
  t.true(await eventually(async () => (await redis(ipOf(no), srcPw, (c) => c.get('on-new-source'))) === '1'), 'the old source follows the new one');
  await t.throwsAsync(redis(ipOf(no), srcPw, (c) => c.set('no', '1')), { message: /READONLY/ });
  t.is(await redis(ipOf(no), srcPw, (c) => c.get('k:0')), 'v0');

  // detach the old source: writable, independent
  const d = await cp.http.put(`/instances/${no!.id}`, { instance: { replica_of: null } });
  t.is(d.status, 202, JSON.stringify(d.data));
  const done = await waitForInstance(cp.http, no!.id as string, (i) => (i?.status === 'ACTIVE' && !('replica_of' in i)) || i?.status === 'ERROR', 120_000);
  t.is(done?.status, 'ACTIVE', JSON.stringify(done?.fault));
  await redis(ipOf(done), srcPw, (c) => c.set('mine', '1'));
  await redis(ipOf(na), repPw, (c) => c.set('not-for-it', '1'));
  await new Promise((res) => setTimeout(res, 1500));
  t.is(await redis(ipOf(done), srcPw, (c) => c.get('not-for-it')), null);
  const logs = cp.logs.join('');
  for (const pw of passwords) t.false(logs.includes(pw));
});
