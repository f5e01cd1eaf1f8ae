// Resumable flows on a real MariaDB: steps persist, a second runner resumes after the first one
// dies (lease expiry), failures and deadlines call `fail` once and clear the flow.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createThrowawayDb, type ThrowawayDb } from '../helpers/throwaway-db.js';
import { FlowRunner, FlowTimeoutError, type FlowDefinition } from '../../src/taskmanager/flow.js';
import { createLogger } from '../../src/common/log.js';
import { openDatabase } from '../../src/db/connection.js';
import { parseConnectionUrl, type DatabaseConfig } from '../../src/db/config.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });

async function instanceRow(tdb: ThrowawayDb): Promise<string> {
  const id = randomUUID();
  await tdb.db('instances').insert({ id, name: 'f', tenant_id: 'p', deleted: false, task_id: 5, created: new Date(), updated: new Date() });
  return id;
}

interface Data {
  ran: string[];
  made?: string;
}

test('a flow killed mid-step is resumed by another runner from the unfinished step', async (t) => {
  const tdb = await createThrowawayDb();
  t.teardown(() => tdb.drop());
  const id = await instanceRow(tdb);
  const calls: string[] = [];
  let hang = true;
  const flow = (who: string): FlowDefinition<Data> => ({
    name: 'demo',
    steps: [
      {
        name: 'one',
        run: async (c) => {
          calls.push(`${who}:one`);
          c.data.ran.push('one');
        },
      },
      {
        name: 'two',
        run: async (c) => {
          calls.push(`${who}:two`);
          c.data.made ??= 'resource-1';
          await c.save();
          if (hang) await new Promise(() => undefined); // the first runner "dies" here
          c.data.ran.push('two');
        },
      },
      {
        name: 'three',
        run: async (c) => {
          calls.push(`${who}:three`);
          c.data.ran.push('three');
        },
      },
    ],
    fail: async () => {
      calls.push(`${who}:fail`);
    },
  });
  const first = new FlowRunner({ db: tdb.db, log, owner: 'tm-a', leaseSeconds: 1 });
  first.register(flow('a'));
  void first.start('demo', id, { ran: [] }, 60);
  await new Promise((r) => setTimeout(r, 300));
  // tm-a is now stuck in step two. Stop it renewing (as a dead process would) by clearing its lease owner.
  (first as unknown as { acquire: () => Promise<boolean> }).acquire = async () => false;
  await new Promise((r) => setTimeout(r, 1500));
  hang = false;
  const second = new FlowRunner({ db: tdb.db, log, owner: 'tm-b', leaseSeconds: 1 });
  second.register(flow('b'));
  t.deepEqual(await second.resumeAll(), [id]);
  await second.idle();
  t.deepEqual(calls, ['a:one', 'a:two', 'b:two', 'b:three']);
  const row = await tdb.db('instances').where({ id }).first();
  t.is(row.flow_state, null);
  t.is(row.flow_owner, null);
});

test('a held lease is not taken over', async (t) => {
  const tdb = await createThrowawayDb();
  t.teardown(() => tdb.drop());
  const id = await instanceRow(tdb);
  await tdb
    .db('instances')
    .where({ id })
    .update({
      flow_state: JSON.stringify({ flow: 'demo', step: 0, data: {}, deadline: Date.now() + 60_000 }),
      flow_owner: 'tm-a',
      flow_lease_until: new Date(Date.now() + 60_000),
    });
  const runner = new FlowRunner({ db: tdb.db, log, owner: 'tm-b' });
  runner.register({ name: 'demo', steps: [{ name: 'x', run: async () => t.fail('must not run') }], fail: async () => undefined });
  t.deepEqual(await runner.resumeAll(), []);
});

test('a failing step and an expired deadline call fail once and clear the flow', async (t) => {
  const tdb = await createThrowawayDb();
  t.teardown(() => tdb.drop());
  const failures: Array<[string, string]> = [];
  const runner = new FlowRunner({ db: tdb.db, log, owner: 'tm' });
  runner.register<Data>({
    name: 'boom',
    steps: [
      { name: 'ok', run: async () => undefined },
      {
        name: 'bad',
        run: async () => {
          throw new Error('volume quota exceeded');
        },
      },
      { name: 'never', run: async () => t.fail('must not run') },
    ],
    fail: async (_c, err, step) => {
      failures.push([step, err.message]);
    },
  });
  runner.register<Data>({
    name: 'slow',
    steps: [{ name: 'wait', run: async () => undefined }],
    fail: async (_c, err, step) => {
      failures.push([step, err instanceof FlowTimeoutError ? 'timeout' : err.message]);
    },
  });
  const a = await instanceRow(tdb);
  await runner.start('boom', a, { ran: [] }, 60);
  const b = await instanceRow(tdb);
  await runner.start('slow', b, { ran: [] }, -1);
  t.deepEqual(failures, [
    ['bad', 'volume quota exceeded'],
    ['wait', 'timeout'],
  ]);
  t.is((await tdb.db('instances').where({ id: a }).first()).flow_state, null);
});

test('a step the control database fails under (unreachable) runs again, and the flow goes on; one whose database never comes back fails with its error', async (t) => {
  const tdb = await createThrowawayDb();
  t.teardown(() => tdb.drop());
  // a real mysql2 failure: a database on a port nothing listens on (as during an outage)
  const target = parseConnectionUrl('mysql+pymysql://root@127.0.0.1:1/nothing');
  if (typeof target === 'string') throw new Error(target);
  const down = openDatabase({ connection: target, max_pool_size: 1 } as DatabaseConfig);
  t.teardown(() => down.destroy());
  const failures: Array<[string, string]> = [];
  const runs: Record<string, number> = {};
  const runner = new FlowRunner({ db: tdb.db, log, owner: 'tm', databaseRetryMs: [50, 50, 50] });
  for (const [name, outage] of [
    ['blip', 2],
    ['outage', 99],
  ] as const) {
    runner.register<Data>({
      name,
      steps: [
        {
          name: 'write',
          run: async (s) => {
            runs[name] = (runs[name] ?? 0) + 1;
            await (runs[name]! <= outage ? down : tdb.db).raw('select 1');
            s.data.ran.push('write');
          },
        },
        { name: 'after', run: async (s) => void s.data.ran.push('after') },
      ],
      fail: async (_c, err, step) => void failures.push([step, err.message]),
    });
  }
  const a = await instanceRow(tdb);
  await runner.start('blip', a, { ran: [] }, 60);
  t.is(runs.blip, 3, 'two runs while the database was down, the third went through');
  const b = await instanceRow(tdb);
  await runner.start('outage', b, { ran: [] }, 60);
  t.is(runs.outage, 4, 'the first run and three more');
  t.is(failures.length, 1, JSON.stringify(failures));
  t.is(failures[0]![0], 'write');
  t.regex(failures[0]![1], /ECONNREFUSED/);
  for (const id of [a, b]) t.is((await tdb.db('instances').where({ id }).first()).flow_state, null);
});

test('a runner stopped while a step runs starts nothing more and fails nothing: the flow stays recorded for the next taskmanager', async (t) => {
  const tdb = await createThrowawayDb();
  t.teardown(() => tdb.drop());
  const failures: string[] = [];
  let release!: (err: Error) => void;
  const definition = (ran: string[]): FlowDefinition<Data> => ({
    name: 'stopping',
    steps: [
      // the first runner's step ends with its own shutdown's error (its bus closed under it)
      { name: 'call', run: async () => (ran.length ? undefined : new Promise<void>((_r, reject) => (release = reject))) },
      { name: 'next', run: async () => void ran.push('next') },
    ],
    fail: async (_c, err) => void failures.push(err.message),
  });
  const first = new FlowRunner({ db: tdb.db, log, owner: 'tm-1', leaseSeconds: 1 });
  const firstRan: string[] = [];
  first.register(definition(firstRan));
  const id = await instanceRow(tdb);
  const running = first.start('stopping', id, { ran: [] }, 60);
  while (!release) await new Promise((r) => setTimeout(r, 10));
  first.stop();
  release(new Error('RPC client closed'));
  await running;
  t.deepEqual(failures, [], 'not failed by its own shutdown');
  t.deepEqual(firstRan, []);
  t.not((await tdb.db('instances').where({ id }).first()).flow_state, null, 'still recorded');
  // the next taskmanager resumes it once the lease has expired
  await new Promise((r) => setTimeout(r, 1100));
  const second = new FlowRunner({ db: tdb.db, log, owner: 'tm-2' });
  const secondRan = ['resumed'];
  second.register(definition(secondRan));
  t.deepEqual(await second.resumeAll(), [id]);
  await second.idle();
  t.deepEqual(secondRan, ['resumed', 'next']);
  t.is((await tdb.db('instances').where({ id }).first()).flow_state, null);
});
