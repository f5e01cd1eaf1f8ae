// PostgreSQL's heartbeat metrics on a real server through the guest's own handlers and reporter:
// the figures are there, and client connections and inserts move them.
import test from 'ava';
import pg from 'pg';
import { call, GuestAgents, until } from '../../../test/helpers/guest-agents.js';
import { loadedMetrics } from '../../../test/helpers/metrics-load.js';
import { findBinDir } from './detect.js';
import { postgresqlEngine } from './manager.js';

const APP_PW = 'app-Metrics-pw-2';
const agents = new GuestAgents({ prefix: 'postgresql-metrics-', section: 'postgresql', build: postgresqlEngine });

const client = async (port: number): Promise<pg.Client> => {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'app', password: APP_PW, database: 'shop', connectionTimeoutMillis: 5000 });
  await c.connect();
  return c;
};

if (!findBinDir()) {
  test('PostgreSQL is installed', (t) => (process.env.TROVE_TEST_SKIP_ENGINES ? t.pass() : t.fail('no /usr/lib/postgresql/<version>/bin/postgres')));
} else {
  test.before(() => agents.open());
  test.after.always(() => agents.close());

  test('the heartbeat carries the engine figures; connections and inserts move them', async (t) => {
    const a = await agents.agent('p', 'a1b2c3d4-0000-4000-8000-0000000000p1');
    await call(a, 'prepare', { memory_mb: 256, databases: [{ _name: 'shop' }], users: [{ _name: 'app', _password: APP_PW, _databases: [{ _name: 'shop' }] }] });
    const setup = await client(a.port);
    await setup.query('CREATE TABLE orders (id int PRIMARY KEY, item text)');
    await setup.end();
    const { idle, open, busiestQps } = await loadedMetrics(a, {
      clients: 6,
      writes: 600,
      connect: async () => {
        const c = await client(a.port);
        return { write: async (i) => void (await c.query('INSERT INTO orders VALUES ($1, $2)', [i, `item ${i}`])), close: () => c.end() };
      },
    });
    t.true(idle.max_connections! > 0);
    t.is(idle.replication_lag_seconds, null, 'no standby');
    t.is(idle.replication_lag_bytes, null);
    t.true(idle.volume_total_gb! > 0);
    for (const f of ['cache_hit_ratio', 'commits', 'deadlocks', 'oldest_transaction_age_seconds']) t.true(f in idle.figures!, f);
    t.true(open.connections! >= idle.connections! + 6, `connections ${idle.connections} → ${open.connections}`);
    t.true(busiestQps > (idle.queries_per_second ?? 0) + 10, `transactions/s ${idle.queries_per_second} → ${busiestQps}`);
    // a session's commits reach pg_stat_database when its backend flushes them (at the latest as it exits, after the client has gone)
    const committed = () => a.metrics.at(-1)?.figures?.commits ?? 0;
    await until(
      'the 600 inserts counted as commits',
      async () => {
        await a.reporter.report();
        return committed() >= idle.figures!.commits! + 600;
      },
      20_000,
      300,
    );
    t.true(committed() >= idle.figures!.commits! + 600, `the inserts are commits: ${idle.figures!.commits} → ${committed()}`);
  });
}
