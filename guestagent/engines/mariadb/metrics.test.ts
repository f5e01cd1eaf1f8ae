// MariaDB's heartbeat metrics on a real server through the guest's own handlers and reporter:
// the figures are there, and client connections and writes move them.
import test from 'ava';
import { existsSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { call, GuestAgents } from '../../../test/helpers/guest-agents.js';
import { loadedMetrics } from '../../../test/helpers/metrics-load.js';
import { mariadbEngine } from './manager.js';

const APP_PW = 'app-Metrics-pw-1';
const agents = new GuestAgents({ prefix: 'mariadb-metrics-', section: 'mariadb', build: mariadbEngine });

if (!existsSync('/usr/sbin/mariadbd')) {
  test('MariaDB is installed', (t) => (process.env.TROVE_TEST_SKIP_ENGINES ? t.pass() : t.fail('no /usr/sbin/mariadbd')));
} else {
  test.before(() => agents.open());
  test.after.always(() => agents.close());

  test('the heartbeat carries the engine figures; connections and inserts move them', async (t) => {
    const a = await agents.agent('m', 'a1b2c3d4-0000-4000-8000-00000000mdb1');
    await call(a, 'prepare', {
      memory_mb: 256,
      databases: [{ _name: 'shop' }],
      users: [{ _name: 'app', _host: '%', _password: APP_PW, _databases: [{ _name: 'shop' }] }],
    });
    const setup = await mysql.createConnection({ host: '127.0.0.1', port: a.port, user: 'app', password: APP_PW, database: 'shop' });
    await setup.query('CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(40)) ENGINE=InnoDB');
    await setup.end();
    const { idle, open, busiestQps } = await loadedMetrics(a, {
      clients: 6,
      writes: 600,
      connect: async () => {
        const c = await mysql.createConnection({ host: '127.0.0.1', port: a.port, user: 'app', password: APP_PW, database: 'shop' });
        return { write: async (i) => void (await c.query('INSERT INTO orders VALUES (?, ?)', [i, `item ${i}`])), close: () => c.end() };
      },
    });
    t.true(idle.max_connections! > 0);
    t.true(idle.uptime_seconds! >= 0);
    t.is(idle.replication_lag_seconds, null, 'no replica');
    t.true(idle.volume_total_gb! > 0 && idle.volume_used_gb! > 0);
    for (const f of ['innodb_buffer_pool_hit_rate', 'innodb_row_lock_waits']) t.true(f in idle.figures!, f);
    t.true(idle.figures!.innodb_buffer_pool_hit_rate! > 0 && idle.figures!.innodb_buffer_pool_hit_rate! <= 1);
    t.true(open.connections! >= idle.connections! + 6, `connections ${idle.connections} → ${open.connections}`);
    t.true(busiestQps > (idle.queries_per_second ?? 0) + 10, `qps ${idle.queries_per_second} → ${busiestQps}`);
    t.true(agents.logged.every((l) => !l.includes(APP_PW)));
  });
}
