// Heartbeats into a real MariaDB: status written, stale messages dropped, two conductors at once.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createThrowawayDb } from '../helpers/throwaway-db.js';
import { applyHeartbeat, heartbeatWriter } from '../../src/conductor/heartbeat.js';
import { instanceKeys } from '../../src/conductor/service.js';
import { recordHeartbeats, type HeartbeatReport } from '../../src/db/service-statuses.js';
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

test("a heartbeat records the agent's version; an older agent's heartbeat without it still counts and clears it", async (t) => {
  const tdb = await createThrowawayDb();
  t.teardown(() => tdb.drop());
  const id = randomUUID();
  await seedInstance(tdb.db, id);
  const handlers = conductorHandlers(tdb.db, log);
  const ctx = { context: {}, method: 'heartbeat' };
  await handlers.heartbeat({ instance_id: id, payload: { service_status: 'healthy', agent_version: '0.1.0', agent_rpc_version: '1.2' }, sent: 1 }, ctx);
  const agent = () => tdb.db('service_statuses').where({ instance_id: id }).first('status_id', 'agent_version', 'agent_rpc_version');
  t.like(await agent(), { status_id: ServiceStatuses.HEALTHY.code, agent_version: '0.1.0', agent_rpc_version: '1.2' });
  // an agent of before the report (a downgrade, or an older image): counted, its version unknown
  await handlers.heartbeat({ instance_id: id, payload: { service_status: 'shutdown' }, sent: 2 }, ctx);
  t.like(await agent(), { status_id: ServiceStatuses.SHUTDOWN.code, agent_version: null, agent_rpc_version: null });
  // RESTART_REQUIRED is held, the version still taken
  await tdb.db('service_statuses').where({ instance_id: id }).update({ status_id: ServiceStatuses.RESTART_REQUIRED.code });
  await handlers.heartbeat({ instance_id: id, payload: { service_status: 'healthy', agent_version: '0.2.0', agent_rpc_version: '1.3' }, sent: 3 }, ctx);
  t.like(await agent(), { status_id: ServiceStatuses.RESTART_REQUIRED.code, agent_version: '0.2.0', agent_rpc_version: '1.3' });
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
  /** The status once it is `expected`, or as it is after 5 s (a loaded machine may take longer than a settle). */
  const statusOnce = async (id: string, expected: string) => {
    for (const until = Date.now() + 5000; Date.now() < until && (await status(id)) !== expected;) await new Promise((r) => setTimeout(r, 50));
    return status(id);
  };

  await asA.heartbeat({ instance_id: b, payload: { service_status: 'shutdown' }, sent: 10 });
  await plain.heartbeat({ instance_id: b, payload: { service_status: 'shutdown' }, sent: 11 });
  await asA.report_root({ instance_id: b, user: 'root' });
  await settle();
  t.is(await status(b), 'new', "B's status untouched by A's key or a plain message");
  t.is(await tdb.db('root_enabled_history').where({ id: b }).first(), undefined, 'no root history written for B');

  // A about itself, with a clock a year ahead: taken as now, so A's next honest report still applies
  await asA.heartbeat({ instance_id: a, payload: { service_status: 'shutdown' }, sent: Date.now() / 1000 + 365 * 86400 });
  t.is(await statusOnce(a, 'shutdown'), 'shutdown');
  await new Promise((r) => setTimeout(r, 50));
  await asA.heartbeat({ instance_id: a, payload: { service_status: 'healthy' }, sent: Date.now() / 1000 });
  t.is(await statusOnce(a, 'healthy'), 'healthy', 'a report after the future-dated one is not stale');
  await client.close();
  await server.close();
  await tr.close();
});

/** The SQL statements `db` runs while `fn` does (BEGIN and COMMIT included). */
async function statements<T>(db: import('knex').Knex, fn: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
  const sql: string[] = [];
  const on = (q: { sql: string }) => void sql.push(q.sql);
  db.on('query', on);
  try {
    return { result: await fn(), sql };
  } finally {
    db.removeListener('query', on);
  }
}

test('a group of heartbeats is one transaction of a fixed number of statements, however many guests: the newest of each applied, older ones stale, RESTART_REQUIRED held, an instance without a status row reported', async (t) => {
  const tdb = await createThrowawayDb();
  t.teardown(() => tdb.drop());
  const report = (instanceId: string, sent: number, status: keyof typeof ServiceStatuses): HeartbeatReport => ({
    instanceId,
    sent,
    status: ServiceStatuses[status],
    reason: null,
    logTail: null,
    agentVersion: '0.1.0',
    agentRpcVersion: '1.2',
  });
  for (const guests of [10, 60]) {
    const ids = Array.from({ length: guests }, () => randomUUID());
    for (const id of ids) await seedInstance(tdb.db, id);
    const [held, unknown] = [ids[0]!, randomUUID()];
    await tdb.db('service_statuses').where({ instance_id: held }).update({ status_id: ServiceStatuses.RESTART_REQUIRED.code });
    // first heartbeats: the last-seen rows are made (outside the transaction) and the group tried again
    t.true(
      (
        await recordHeartbeats(
          tdb.db,
          [...ids, unknown].map((id) => report(id, 1, 'RUNNING')),
        )
      ).every((o) => o !== 'stale'),
    );
    // each guest's heartbeats out of order, the newest (sent 5) HEALTHY, one of them a repeat of an applied one
    const reports = [...ids, unknown].flatMap((id) => [
      report(id, 3, 'SHUTDOWN'),
      report(id, 5, 'HEALTHY'),
      report(id, 4, 'BLOCKED'),
      report(id, 1, 'SHUTDOWN'),
    ]);
    const { result, sql } = await statements(tdb.db, () => recordHeartbeats(tdb.db, reports));
    // BEGIN, one locking read, last-seen, the held ones' time, one update for every HEALTHY one, COMMIT
    t.deepEqual(
      sql.map((q) => q.split(' ')[0]!.toLowerCase().replace(';', '')),
      ['begin', 'select', 'update', 'update', 'update', 'commit'],
      sql.join('\n'),
    );
    const outcome = (id: string, sent: number) => result[reports.findIndex((r) => r.instanceId === id && r.sent === sent)];
    t.is(outcome(ids[1]!, 5), 'applied');
    t.is(outcome(ids[1]!, 4), 'stale');
    t.is(outcome(ids[1]!, 1), 'stale');
    t.is(outcome(held, 5), 'held');
    t.is(outcome(unknown, 5), 'unknown-instance');
    const rows = await tdb.db('service_statuses').whereIn('instance_id', ids).select('instance_id', 'status_id');
    t.deepEqual(
      rows.filter((r) => r.status_id !== ServiceStatuses.HEALTHY.code).map((r) => r.instance_id),
      [held],
    );
    const seen = await tdb
      .db('conductor_lastseen')
      .whereIn('instance_id', [...ids, unknown])
      .where({ method_name: 'heartbeat' })
      .select('sent');
    t.deepEqual([...new Set(seen.map((r) => Number(r.sent)))], [5]);
  }
});

test('the conductor writes heartbeats that arrive together in few transactions, each call answered with its own outcome once committed', async (t) => {
  const tdb = await createThrowawayDb();
  t.teardown(() => tdb.drop());
  const ids = Array.from({ length: 20 }, () => randomUUID());
  for (const id of ids) await seedInstance(tdb.db, id);
  const write = heartbeatWriter(tdb.db, log);
  const statuses = ['running', 'blocked', 'shutdown', 'healthy'];
  const calls: Array<Promise<string>> = [];
  for (let sent = 1; sent <= 10; sent++) for (const id of ids) calls.push(write({ instance_id: id, payload: { service_status: statuses[sent % 4]! }, sent }));
  const { result, sql } = await statements(tdb.db, () => Promise.all(calls));
  const reads = sql.filter((q) => q.includes('conductor_lastseen') && q.startsWith('select')).length;
  t.true(reads < 20, `${reads} transactions for 200 heartbeats`);
  t.true(result.every((o) => o === 'applied' || o === 'stale'));
  t.true(result.includes('applied'));
  const rows = await tdb.db('service_statuses').whereIn('instance_id', ids).select('status_description');
  t.deepEqual([...new Set(rows.map((r) => r.status_description))], [statuses[10 % 4]]);
  t.is(await write({ instance_id: ids[0]!, payload: { service_status: 'bogus' }, sent: 11 }), 'unknown-status');
});

test("the conductor reads an instance's key once; an instance not found is looked up again; the lookups that arrive while one runs are one query", async (t) => {
  const tdb = await createThrowawayDb();
  t.teardown(() => tdb.drop());
  const [keyed, plain, later] = [randomUUID(), randomUUID(), randomUUID()];
  const now = new Date();
  await tdb.db('instances').insert([
    { id: keyed, name: 'k', encrypted_key: 'sealed-key', created: now, updated: now, deleted: false },
    { id: plain, name: 'p', encrypted_key: null, created: now, updated: now, deleted: false },
  ]);
  const keyOf = instanceKeys(tdb.db);
  const first = await statements(tdb.db, () => Promise.all([keyOf(keyed), keyOf(plain), keyOf(later)]));
  t.deepEqual(first.result, ['sealed-key', null, undefined]);
  t.true(first.sql.length <= 2, first.sql.join('\n'));
  const again = await statements(tdb.db, async () => [await keyOf(keyed), await keyOf(plain), await keyOf(later)]);
  t.deepEqual(again.result, ['sealed-key', null, undefined]);
  t.is(again.sql.length, 1, 'only the instance not found is looked up again');
  await tdb.db('instances').insert({ id: later, name: 'l', encrypted_key: 'its-key', created: now, updated: now, deleted: false });
  t.is(await keyOf(later), 'its-key', 'an instance created since is found');
});
