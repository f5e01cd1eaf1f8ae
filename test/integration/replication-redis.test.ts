// Redis replication for real on the all-in-one control plane (RedisSyncReplication): a source with
// keys, two replicas made with replica_of go ACTIVE with them (built from the source's RDB backup,
// then REPLICAOF), follow new writes and refuse a user's write (READONLY) with their own root;
// promote_to_replica_source switches the set (the old source and the other replica follow the new
// one); that source dies and eject_replica_source makes the most current member the source (its
// last key there), the other following it; detach makes that one writable and independent
// (test/helpers/replica-set.ts replicaSetWalk). No password in the control plane's logs.
import test from 'ava';
import type { Redis } from 'ioredis';
import { startControlPlane, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';
import { withRedis } from '../helpers/redis-client.js';
import { createSource, ipOf, replicaSetWalk, show } from '../helpers/replica-set.js';

let cp: ControlPlane;
const passwords: string[] = [];

test.before(async () => {
  cp = await startControlPlane({ config: { DEFAULT: { agent_heartbeat_expiry: '10' }, redis: { replication_strategy: 'RedisSyncReplication' } } });
  await registerDatastore(cp.tdb.db, { name: 'redis', version: '7.0' });
});
test.after.always(() => cp?.stop());

const redis = <T>(ip: string, password: string, fn: (r: Redis) => Promise<T>): Promise<T> => withRedis({ host: ip, port: 6379, password }, fn);

async function rootOf(id: string): Promise<string> {
  const en = await cp.http.post(`/instances/${id}/root`, {});
  if (en.status !== 200) throw new Error(`root enable: ${en.status} ${JSON.stringify(en.data)}`);
  passwords.push(en.data.user.password);
  return en.data.user.password as string;
}

test.serial('Redis replicas follow their source and refuse writes; promote switches the set; eject after the source dies; detach frees a member', async (t) => {
  const src = await createSource(cp, { name: 'kv-src', datastore: { type: 'redis' } });
  const srcId = src.id as string;
  const pw: Record<string, string> = { [srcId]: await rootOf(srcId) };
  const get = async (id: string, key: string) => redis(ipOf(await show(cp, id)), pw[id]!, (c) => c.get(key));
  await redis(ipOf(src), pw[srcId]!, async (r) => {
    for (let i = 0; i < 50; i++) await r.set(`k:${i}`, `v${i}`);
  });
  await replicaSetWalk(t, cp, srcId, 'kv-copy', 'k:49', {
    write: async (id, key) => void (await redis(ipOf(await show(cp, id)), pw[id]!, (c) => c.set(key, '1'))),
    // the source's own keys k:<i> hold v<i>, the walk's '1'
    has: async (id, key) => (await get(id, key)) === (key.startsWith('k:') ? `v${key.slice(2)}` : '1'),
    readOnly: /READONLY/,
    // root is the replica's own (Redis does not replicate its ACL)
    onReplica: async (id) => void (pw[id] = await rootOf(id)),
  });
  const logs = cp.logs.join('');
  for (const secret of passwords) t.false(logs.includes(secret));
});
