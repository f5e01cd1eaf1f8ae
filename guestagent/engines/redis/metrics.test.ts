// Redis's heartbeat metrics on a real server through the guest's own handlers and reporter: the
// figures are there, and client connections and writes move them.
import test from 'ava';
import { existsSync } from 'node:fs';
import { call, GuestAgents } from '../../../test/helpers/guest-agents.js';
import { loadedMetrics } from '../../../test/helpers/metrics-load.js';
import type { RedisLifecycle } from './lifecycle.js';
import { redisEngine } from './manager.js';
import { parseInfo } from './metrics.js';

const agents = new GuestAgents<RedisLifecycle>({ prefix: 'redis-metrics-', section: 'redis', build: redisEngine });

test('parseInfo: key:value lines, sections and blank lines skipped', (t) => {
  const m = parseInfo('# Clients\r\nconnected_clients:3\r\n\r\n# Stats\r\nkeyspace_hits:10\r\ndb0:keys=1,expires=0\r\n');
  t.is(m.get('connected_clients'), '3');
  t.is(m.get('keyspace_hits'), '10');
  t.is(m.get('db0'), 'keys=1,expires=0');
  t.false(m.has('# Clients'));
});

if (!existsSync('/usr/bin/redis-server')) {
  test('Redis is installed', (t) => (process.env.TROVE_TEST_SKIP_ENGINES ? t.pass() : t.fail('no /usr/bin/redis-server')));
} else {
  test.before(() => agents.open());
  test.after.always(() => agents.close());

  test('the heartbeat carries the engine figures; connections and writes move them', async (t) => {
    const a = await agents.agent('r', 'a1b2c3d4-0000-4000-8000-0000000000r1');
    await call(a, 'prepare', { memory_mb: 256 });
    const { idle, open, busiestQps } = await loadedMetrics(a, {
      clients: 6,
      writes: 600,
      connect: async () => {
        const r = await a.lc.admin.connect();
        return { write: async (i) => void (await r.set(`k${i}`, `v${i}`)), close: async () => r.disconnect() };
      },
    });
    t.true(idle.max_connections! > 0);
    t.is(idle.replication_lag_seconds, null, 'no replica');
    for (const f of ['used_memory_bytes', 'evicted_keys', 'keyspace_hits', 'keyspace_misses']) t.true(f in idle.figures!, f);
    t.true(open.connections! >= idle.connections! + 6, `connections ${idle.connections} → ${open.connections}`);
    t.true(busiestQps > (idle.queries_per_second ?? 0) + 10, `commands/s ${idle.queries_per_second} → ${busiestQps}`);
    t.true(open.figures!.used_memory_bytes! > idle.figures!.used_memory_bytes!, 'the keys take memory');
  });
}
