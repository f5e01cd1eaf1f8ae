// Heartbeats into a real MariaDB: status written, stale messages dropped, two conductors at once.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createThrowawayDb } from '../helpers/throwaway-db.js';
import { applyHeartbeat } from '../../src/conductor/heartbeat.js';
import { openDatabase } from '../../src/db/connection.js';
import { parseConnectionUrl, type MysqlTarget } from '../../src/db/config.js';
import { createLogger } from '../../src/common/log.js';
import { ServiceStatuses } from '../../src/common/service-status.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });

async function seedInstance(db: import('knex').Knex, id: string) {
  await db('service_statuses').insert({ id: randomUUID(), instance_id: id, status_id: ServiceStatuses.NEW.code, status_description: 'new', updated_at: new Date(0) });
}

test('a heartbeat sets the service status; an older one is dropped', async (t) => {
  const tdb = await createThrowawayDb();
  t.teardown(() => tdb.drop());
  const id = randomUUID();
  await seedInstance(tdb.db, id);
  t.is(await applyHeartbeat(tdb.db, log, { instance_id: id, payload: { service_status: 'healthy' }, sent: 100 }), 'applied');
  t.is(await applyHeartbeat(tdb.db, log, { instance_id: id, payload: { service_status: 'shutdown' }, sent: 99 }), 'stale');
  const row = await tdb.db('service_statuses').where({ instance_id: id }).first();
  t.is(row.status_id, ServiceStatuses.HEALTHY.code);
  t.is(row.status_description, 'healthy');
  t.true(new Date(row.updated_at).getTime() > Date.now() - 60_000);
  t.is(await applyHeartbeat(tdb.db, log, { instance_id: id, payload: { service_status: 'bogus' }, sent: 200 }), 'unknown-status');
});

test('RESTART_REQUIRED is held until a restart, the heartbeat still refreshes liveness', async (t) => {
  const tdb = await createThrowawayDb();
  t.teardown(() => tdb.drop());
  const id = randomUUID();
  await seedInstance(tdb.db, id);
  await tdb.db('service_statuses').where({ instance_id: id }).update({ status_id: ServiceStatuses.RESTART_REQUIRED.code });
  t.is(await applyHeartbeat(tdb.db, log, { instance_id: id, payload: { service_status: 'healthy' }, sent: 1 }), 'held');
  const row = await tdb.db('service_statuses').where({ instance_id: id }).first();
  t.is(row.status_id, ServiceStatuses.RESTART_REQUIRED.code);
  t.true(new Date(row.updated_at).getTime() > 0);
});

test('two conductors applying interleaved heartbeats end on the newest one', async (t) => {
  const tdb = await createThrowawayDb();
  const second = openDatabase({ connection: { ...(parseConnectionUrl(tdb.url) as MysqlTarget) }, max_pool_size: 5 });
  t.teardown(async () => {
    await second.destroy();
    await tdb.drop();
  });
  const id = randomUUID();
  await seedInstance(tdb.db, id);
  const statuses = ['running', 'healthy', 'shutdown', 'blocked'];
  const work = [];
  for (let i = 1; i <= 40; i++) {
    const db = i % 2 ? tdb.db : second;
    work.push(applyHeartbeat(db, log, { instance_id: id, payload: { service_status: statuses[i % 4]! }, sent: i }));
  }
  const outcomes = await Promise.all(work);
  t.true(outcomes.includes('applied'));
  const last = await tdb.db('conductor_lastseen').where({ instance_id: id, method_name: 'heartbeat' }).first();
  t.is(Number(last.sent), 40);
  const row = await tdb.db('service_statuses').where({ instance_id: id }).first();
  t.is(row.status_description, statuses[40 % 4]);
});
