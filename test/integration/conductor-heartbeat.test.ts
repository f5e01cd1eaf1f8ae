// Heartbeats into a real MariaDB: status written, stale messages dropped, two conductors at once.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createThrowawayDb } from '../helpers/throwaway-db.js';
import { applyHeartbeat } from '../../src/conductor/heartbeat.js';
import { conductorHandlers } from '../../src/conductor/manager.js';
import { openDatabase } from '../../src/db/connection.js';
import { parseConnectionUrl, type MysqlTarget } from '../../src/db/config.js';
import { createLogger } from '../../src/common/log.js';
import { ServiceStatuses } from '../../src/common/service-status.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });

async function seedInstance(db: import('knex').Knex, id: string) {
  await db('service_statuses').insert({
    id: randomUUID(),
    instance_id: id,
    status_id: ServiceStatuses.NEW.code,
    status_description: 'new',
    updated_at: new Date(0),
  });
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

test("a 'failed to spawn' heartbeat stores the guest's reason and log tail, scrubbed; a later status clears them", async (t) => {
  const tdb = await createThrowawayDb();
  t.teardown(() => tdb.drop());
  const id = randomUUID();
  await seedInstance(tdb.db, id);
  const payload = {
    service_status: 'failed to spawn',
    failure_reason: "mariadbd exited while starting: mariadbd: [ERROR] Can't connect to rabbit://guest:hunter2@10.0.0.1:5672/",
    failure_log_tail: "2026-12-03 12:00:00 0 [ERROR] something\nIDENTIFIED BY 'pw'",
  };
  t.is(await applyHeartbeat(tdb.db, log, { instance_id: id, payload, sent: 10 }), 'applied');
  const row = await tdb.db('service_statuses').where({ instance_id: id }).first();
  t.is(row.status_id, ServiceStatuses.FAILED.code);
  t.is(row.status_reason, "mariadbd exited while starting: mariadbd: [ERROR] Can't connect to rabbit://guest:***@10.0.0.1:5672/");
  t.is(row.status_log_tail, "2026-12-03 12:00:00 0 [ERROR] something\nIDENTIFIED BY '***'");
  t.is(await applyHeartbeat(tdb.db, log, { instance_id: id, payload: { service_status: 'healthy', failure_reason: 'ignored' }, sent: 11 }), 'applied');
  const after = await tdb.db('service_statuses').where({ instance_id: id }).first();
  t.is(after.status_reason, null);
  t.is(after.status_log_tail, null);
});

test('update_backup: a FAILED backup keeps its fail_reason (scrubbed), a COMPLETED one has none', async (t) => {
  const tdb = await createThrowawayDb();
  t.teardown(() => tdb.drop());
  const handlers = conductorHandlers(tdb.db, log);
  const hctx = { context: {}, method: 'update_backup' };
  const instance = randomUUID();
  const [failed, done] = [randomUUID(), randomUUID()];
  for (const id of [failed, done])
    await tdb
      .db('backups')
      .insert({ id, name: id.slice(0, 8), tenant_id: 'p', state: 'BUILDING', instance_id: instance, deleted: false, created: new Date(), updated: new Date() });
  await handlers.update_backup(
    {
      instance_id: instance,
      backup_id: failed,
      state: 'FAILED',
      success: false,
      fail_reason: 'mariadb-backup exited with code 1: [00] FATAL ERROR: password=hunter2 denied',
    },
    hctx,
  );
  await handlers.update_backup({ instance_id: instance, backup_id: done, state: 'COMPLETED', success: true, fail_reason: 'nothing' }, hctx);
  const rows = await tdb.db('backups').whereIn('id', [failed, done]).select('id', 'state', 'fail_reason');
  t.like(
    rows.find((r) => r.id === failed),
    { state: 'FAILED', fail_reason: 'mariadb-backup exited with code 1: [00] FATAL ERROR: password=*** denied' },
  );
  t.like(
    rows.find((r) => r.id === done),
    { state: 'COMPLETED', fail_reason: null },
  );
});

test("a guest reports only on its own instance: A's key naming B, or a plain message for a keyed B, is refused; a 'sent' ahead of the clock cannot make later reports stale", async (t) => {
  const { RpcClient, RpcServer } = await import('../../src/rpc/rpc.js');
  const { MemoryTransport } = await import('../../src/rpc/transports/memory.js');
  const { conductorContract, CONDUCTOR_TOPIC } = await import('../../src/rpc/contracts/conductor.js');
  const { conductorGuestSerializer, conductorHostSerializer, plainSerializer } = await import('../../src/rpc/encryption.js');
  const tdb = await createThrowawayDb();
  t.teardown(() => tdb.drop());
  const [a, b] = [randomUUID(), randomUUID()];
  for (const id of [a, b]) await seedInstance(tdb.db, id);
  const keys: Record<string, string> = { [a]: 'key-of-a', [b]: 'key-of-b' };
  const tr = new MemoryTransport();
  const server = new RpcServer(tr, log);
  await server.serve(CONDUCTOR_TOPIC, conductorContract, conductorHandlers(tdb.db, log, { sealed: async (id) => id in keys }), {
    serializer: conductorHostSerializer({ instanceKey: async (id) => keys[id] }),
  });
  const client = new RpcClient(tr, log);
  const asA = client.stub(conductorContract, CONDUCTOR_TOPIC, { serializer: conductorGuestSerializer(keys[a], a) });
  const plain = client.stub(conductorContract, CONDUCTOR_TOPIC, { serializer: plainSerializer });
  const status = async (id: string) => (await tdb.db('service_statuses').where({ instance_id: id }).first('status_description')).status_description;
  const settle = () => new Promise((r) => setTimeout(r, 300));

  await asA.heartbeat({ instance_id: b, payload: { service_status: 'shutdown' }, sent: 10 });
  await plain.heartbeat({ instance_id: b, payload: { service_status: 'shutdown' }, sent: 11 });
  await asA.report_root({ instance_id: b, user: 'root' });
  await settle();
  t.is(await status(b), 'new', "B's status untouched by A's key or a plain message");
  t.is(await tdb.db('root_enabled_history').where({ id: b }).first(), undefined, 'no root history written for B');

  // A about itself, with a clock a year ahead: taken as now, so A's next honest report still applies
  await asA.heartbeat({ instance_id: a, payload: { service_status: 'shutdown' }, sent: Date.now() / 1000 + 365 * 86400 });
  await settle();
  t.is(await status(a), 'shutdown');
  await new Promise((r) => setTimeout(r, 50));
  await asA.heartbeat({ instance_id: a, payload: { service_status: 'healthy' }, sent: Date.now() / 1000 });
  await settle();
  t.is(await status(a), 'healthy', 'a report after the future-dated one is not stale');
  await client.close();
  await server.close();
  await tr.close();
});
