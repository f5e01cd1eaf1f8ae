// The shared RPC suite on the machine's real RabbitMQ (a throwaway vhost), plus what only a broker
// shows: the queue layout, recovery after the broker drops us, failover between brokers.
import test from 'ava';
import { z } from 'zod';
import { transportContract, quietLog } from '../helpers/transport.contract.js';
import { createVhost, closeAllConnections, listExchanges, listQueues, type Vhost } from '../helpers/rabbit.js';
import { AmqpTransport, type AmqpOptions } from '../../src/rpc/transports/amqp.js';
import { TransportUnavailableError } from '../../src/rpc/errors.js';
import { amqpUrls } from '../../src/rpc/config.js';
import { RpcClient, RpcServer } from '../../src/rpc/rpc.js';
import { defineContract } from '../../src/rpc/contract.js';
import type { TransportState } from '../../src/rpc/transport.js';

const vhost = createVhost();
test.after.always(() => vhost.drop());
const options = (v: Vhost, more: Partial<AmqpOptions> = {}): AmqpOptions => ({
  urls: amqpUrls(v.url),
  exchange: 'trove',
  log: quietLog,
  heartbeatSeconds: 5,
  retryIntervalMs: 100,
  retryBackoffMs: 100,
  retryMaxMs: 500,
  ...more,
});
const make = async () => new AmqpTransport(options(vhost));

transportContract(test, make, 'amqp');

const echo = defineContract({
  echo: { kind: 'call', since: '1.0', args: z.object({ v: z.string() }), result: z.string() },
  note: { kind: 'cast', since: '1.0', args: z.object({ v: z.string() }), result: z.null() },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Its own vhost: closing every connection there must not disturb the other tests. */
async function isolated(t: import('ava').ExecutionContext) {
  const own = createVhost();
  const trS = new AmqpTransport(options(own));
  const trC = new AmqpTransport(options(own));
  const server = new RpcServer(trS, quietLog);
  const client = new RpcClient(trC, quietLog, { timeoutMs: 3000 });
  t.teardown(async () => {
    await client.close();
    await server.close();
    await trS.close();
    await trC.close();
    own.drop();
  });
  return { own, trS, trC, server, client };
}

test('amqp: server and client recover after the broker closes their connections', async (t) => {
  const { own, trS, trC, server, client } = await isolated(t);
  const notes: string[] = [];
  await server.serve('trove-conductor', echo, { echo: async ({ v }) => v, note: async ({ v }) => void notes.push(v) });
  const conductor = client.stub(echo, 'trove-conductor');
  t.is(await conductor.echo({ v: 'before' }), 'before');
  const states: TransportState[] = [];
  trS.onState((s) => states.push(s));
  closeAllConnections(own.name);
  await conductor.note({ v: 'during' }); // waits for the reconnection, then the broker confirms it
  let answer: string | undefined;
  for (let i = 0; i < 40 && !answer; i++) {
    answer = await conductor.echo({ v: 'after' }, { timeoutMs: 500 }).catch(() => undefined);
    if (!answer) await sleep(100);
  }
  t.is(answer, 'after');
  for (let i = 0; i < 40 && notes.length === 0; i++) await sleep(50);
  t.deepEqual(notes, ['during']);
  t.deepEqual(states, ['disconnected', 'connected']);
  t.is(trC.state, 'connected');
});

test('amqp: the queue layout — durable service and guest queues, private reply and fanout queues', async (t) => {
  const { own, server, client } = await isolated(t);
  const handlers = { echo: async ({ v }: { v: string }) => v, note: async () => undefined };
  await server.serve('taskmanager', echo, handlers, { server: 'host-1' });
  await client.prepareTopic('guestagent.abc');
  await client.stub(echo, 'guestagent.abc').note({ v: 'waits for the guest' });
  t.is(await client.stub(echo, 'taskmanager').echo({ v: 'x' }), 'x');
  const queues = Object.fromEntries(listQueues(own.name).map((q) => [q.name, q]));
  t.like(queues.taskmanager, { durable: true, exclusive: false, auto_delete: false });
  t.like(queues['taskmanager.host-1'], { durable: true, exclusive: false });
  t.like(queues['guestagent.abc'], { durable: true, messages: 1 });
  const reply = Object.values(queues).find((q) => q.name.startsWith('reply_'));
  t.regex(reply!.name, /^reply_[0-9a-f]{32}$/);
  t.like(reply, { durable: false, exclusive: true, auto_delete: true });
  const fanout = Object.values(queues).find((q) => q.name.startsWith('taskmanager_fanout_'));
  t.like(fanout, { durable: false, exclusive: true });
  const exchanges = Object.fromEntries(listExchanges(own.name).map((e) => [e.name, e]));
  t.like(exchanges.trove, { type: 'topic', durable: false, auto_delete: false });
  t.like(exchanges.taskmanager_fanout, { type: 'fanout', auto_delete: true });
  t.like(exchanges[reply!.name], { type: 'direct', auto_delete: true }, 'where a Python server sends the reply');
});

test('amqp: the next broker of the list when the first is down', async (t) => {
  const [good] = amqpUrls(vhost.url);
  const tr = new AmqpTransport(options(vhost, { urls: [good!.replace(/@[^/]+/, '@127.0.0.1:1'), good!] }));
  const server = new RpcServer(tr, quietLog);
  const client = new RpcClient(tr, quietLog, { timeoutMs: 3000 });
  t.teardown(async () => {
    await client.close();
    await server.close();
    await tr.close();
  });
  await server.serve('guestagent.failover', echo, { echo: async ({ v }) => v, note: async () => undefined });
  t.is(await client.stub(echo, 'guestagent.failover').echo({ v: 'ok' }), 'ok');
});

test('amqp: no broker at all — operations fail after connectTimeoutMs, close stops the retries', async (t) => {
  const tr = new AmqpTransport(options(vhost, { urls: ['amqp://guest:guest@127.0.0.1:1/'], connectTimeoutMs: 300 }));
  const started = Date.now();
  await t.throwsAsync(tr.publish('taskmanager', Buffer.from('{}'), true), { instanceOf: TransportUnavailableError });
  t.true(Date.now() - started < 20_000, 'not the 60 s default'); // 300 ms asked; the margin is for a loaded machine (it took over 3 s once)
  t.is(tr.state, 'connecting');
  await tr.close();
  t.is(tr.state, 'closed');
  await t.throwsAsync(tr.publish('taskmanager', Buffer.from('{}'), true), { message: 'transport closed' });
});

test('amqp: a taskmanager cast whose server dies mid-handler goes to the next one; a guest cast was acked on receipt', async (t) => {
  const { own, client } = await isolated(t);
  const got: string[] = [];
  const hang = (who: string) => ({
    echo: async ({ v }: { v: string }) => v,
    note: ({ v }: { v: string }) => (got.push(`${who}:${v}`), new Promise<void>(() => undefined)),
  });
  const serveOn = async (topic: string, who: string) => {
    const tr = new AmqpTransport(options(own));
    await new RpcServer(tr, quietLog).serve(topic, echo, hang(who));
    return tr;
  };
  for (const topic of ['taskmanager', 'guestagent.g1']) {
    const first = await serveOn(topic, `first@${topic}`);
    await client.stub(echo, topic).note({ v: 'work' });
    for (let i = 0; i < 50 && !got.includes(`first@${topic}:work`); i++) await sleep(20);
    await first.close(); // dies with the handler still running
    const second = await serveOn(topic, `second@${topic}`);
    t.teardown(() => second.close());
  }
  for (let i = 0; i < 250 && !got.includes('second@taskmanager:work'); i++) await sleep(20);
  await sleep(300); // and the guest's cast, acked on receipt, is not delivered again meanwhile
  t.deepEqual(got.sort(), ['first@guestagent.g1:work', 'first@taskmanager:work', 'second@taskmanager:work']);
});

test('amqp: a publisher alone (the API) reconnects when next used, not in the background', async (t) => {
  const { own, trC, client, server } = await isolated(t);
  const notes: string[] = [];
  await server.serve('taskmanager', echo, { echo: async ({ v }) => v, note: async ({ v }) => void notes.push(v) });
  await client.stub(echo, 'taskmanager').note({ v: 'one' });
  closeAllConnections(own.name);
  // the broker's close reaches the client when it does (not within a fixed time on a busy machine)
  for (const until = Date.now() + 30_000; trC.state === 'connected' && Date.now() < until;) await sleep(50);
  t.is(trC.state, 'disconnected', 'the loss is seen');
  await sleep(500);
  t.is(trC.state, 'disconnected', 'no consumer to restore: it waits');
  await client.stub(echo, 'taskmanager').note({ v: 'two' });
  t.is(trC.state, 'connected');
  for (let i = 0; i < 50 && notes.length < 2; i++) await sleep(50);
  t.deepEqual(notes, ['one', 'two']);
});
