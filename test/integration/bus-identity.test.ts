// Each guest's own RabbitMQ user (issue 12, items 2 and 7) on the machine's real broker, through
// the management API that test/run-all.sh enables (tools/lab/rabbitmq.sh): a guest consumes only
// its own topic, publishes only to the conductor, answers calls, and after its removal its user
// and queue are gone and stay gone when the service's transport reconnects.
import { randomBytes, randomUUID } from 'node:crypto';
import test from 'ava';
import amqp from 'amqplib';
import { z } from 'zod';
import { quietLog } from '../helpers/transport.contract.js';
import { createVhost, closeAllConnections, listQueues } from '../helpers/rabbit.js';
import { AmqpTransport } from '../../src/rpc/transports/amqp.js';
import { amqpUrls } from '../../src/rpc/config.js';
import { RpcClient, RpcServer } from '../../src/rpc/rpc.js';
import { defineContract } from '../../src/rpc/contract.js';
import { busAccountsFromConfig, guestTransportUrl } from '../../src/clients/rabbitmq/guest-accounts.js';
import { guestBusUser } from '../../src/clients/bus-accounts.js';
import { renderGuestConfig } from '../../src/taskmanager/guest-config.js';

const echo = defineContract({ echo: { kind: 'call', since: '1.0', args: z.object({ v: z.string() }), result: z.string() } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const transport = (url: string, repliesViaExchange = false) =>
  new AmqpTransport({
    urls: amqpUrls(url),
    exchange: 'trove',
    log: quietLog,
    heartbeatSeconds: 5,
    retryIntervalMs: 100,
    retryBackoffMs: 100,
    retryMaxMs: 300,
    connectTimeoutMs: 30_000,
    repliesViaExchange,
  });

async function userExists(base: string, user: string): Promise<boolean> {
  const r = await fetch(`${base}api/users/${encodeURIComponent(user)}`, {
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
  });
  return r.status === 200;
}

async function setup(t: import('ava').ExecutionContext) {
  const vhost = createVhost();
  const bus = busAccountsFromConfig({}, vhost.url, 'trove')!;
  const [a, b] = [randomUUID(), randomUUID()];
  const closers: Array<() => Promise<unknown>> = [];
  t.teardown(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await bus.accounts.removeGuest(a).catch(() => undefined);
    await bus.accounts.removeGuest(b).catch(() => undefined);
    vhost.drop();
  });
  const service = transport(vhost.url);
  closers.push(() => service.close());
  const tm = new RpcClient(service, quietLog, { timeoutMs: 30_000 });
  closers.push(() => tm.close());
  const conductor: Buffer[] = [];
  for (const q of ['taskmanager', 'trove-conductor']) await service.declare(q, [q], { durable: true });
  await service.consume('trove-conductor', async (m) => void conductor.push(m));
  const guests: Record<string, string> = {};
  for (const id of [a, b]) {
    const password = randomBytes(18).toString('base64url');
    await bus.accounts.ensureGuest(id, password);
    guests[id] = guestTransportUrl(bus.target, id, password);
    await tm.prepareTopic(`guestagent.${id}`); // as provision does
  }
  /** A guest's transport, connected (its own queue declared) before the test tries it. */
  const guest = async (id: string) => {
    const tr = transport(guests[id]!, true); // as guestagent/main.ts makes it
    closers.push(() => tr.close());
    await tr.declare(`guestagent.${id}`, [`guestagent.${id}`], { durable: true, once: true });
    return tr;
  };
  return { vhost, bus, a, b, service, tm, conductor, guests, guest };
}

test('a guest bus user consumes only its own topic and publishes only to the conductor', async (t) => {
  const { vhost, a, b, tm, conductor, guests, guest } = await setup(t);
  t.false(guests[a]!.includes('guest:guest@'), 'the guest URL has no service credentials');

  // its own topic: served, and a call to it answered (the reply needs no right on the default exchange)
  const server = new RpcServer(await guest(a), quietLog);
  await server.serve(`guestagent.${a}`, echo, { echo: async ({ v }) => `a:${v}` });
  t.teardown(() => server.close());
  t.is(await tm.stub(echo, `guestagent.${a}`).echo({ v: 'hi' }), 'a:hi');

  // the conductor: allowed
  await (await guest(a)).publish('trove-conductor', Buffer.from('{"status":"ok"}'), true);
  for (let i = 0; i < 50 && conductor.length === 0; i++) await sleep(100);
  t.is(conductor.length, 1);

  // another guest's queue, the taskmanager's and another guest's topic: refused
  await t.throwsAsync(
    (await guest(a)).consume(`guestagent.${b}`, async () => undefined),
    { message: /ACCESS_REFUSED|403/ },
  );
  // (a refused publish closes the channel: the confirm fails with it)
  await t.throwsAsync((await guest(a)).publish('taskmanager', Buffer.from('{}'), true), { message: /ACCESS_REFUSED|403|channel closed/ });
  await t.throwsAsync((await guest(a)).publish(`guestagent.${b}`, Buffer.from('{}'), true), { message: /ACCESS_REFUSED|403|channel closed/ });
  // binding its own queue to the taskmanager's key (to read its casts): refused
  await t.throwsAsync((await guest(a)).declare(`guestagent.${a}`, ['taskmanager'], { durable: true }), { message: /ACCESS_REFUSED|403/ });
  // the default exchange reaches any queue by name: refused
  const conn = await amqp.connect(amqpUrls(guests[a]!)[0]!);
  conn.on('error', () => undefined);
  try {
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => undefined);
    await t.throwsAsync(
      new Promise<void>((resolve, reject) => {
        ch.once('close', () => reject(new Error('channel closed: ACCESS_REFUSED')));
        ch.sendToQueue('taskmanager', Buffer.from('{}'), {}, (err) => (err ? reject(err) : resolve()));
      }),
    );
    // and deleting the conductor's queue
    const ch2 = await conn.createChannel();
    ch2.on('error', () => undefined);
    await t.throwsAsync(ch2.deleteQueue('trove-conductor'), { message: /ACCESS_REFUSED|403/ });
  } finally {
    await conn.close().catch(() => undefined);
  }
  const waiting = Object.fromEntries(listQueues(vhost.name).map((q) => [q.name, q.messages]));
  t.is(waiting.taskmanager, 0, 'nothing reached the taskmanager');
  t.is(waiting[`guestagent.${b}`], 0, 'nothing reached the other guest');
  t.true(waiting['trove-conductor'] !== undefined);
});

test('after delete the guest user and its queue are gone and stay gone when the transports reconnect', async (t) => {
  const { vhost, bus, a, b, service, guest } = await setup(t);
  const server = new RpcServer(await guest(a), quietLog);
  await server.serve(`guestagent.${a}`, echo, { echo: async ({ v }) => v });
  t.teardown(() => server.close());
  t.true(await userExists(bus.target.url, guestBusUser(a)));

  await bus.accounts.removeGuest(a);
  t.false(await userExists(bus.target.url, guestBusUser(a)));
  t.false(listQueues(vhost.name).some((q) => q.name === `guestagent.${a}`));

  // the service (the taskmanager declared the guest's topic at provision) loses its connection
  let reconnected = false;
  service.onState((s) => s === 'connected' && (reconnected = true));
  closeAllConnections(vhost.name);
  for (let i = 0; i < 100 && !reconnected; i++) await sleep(100);
  t.true(reconnected);
  await sleep(1500); // the removed guest's agent keeps retrying meanwhile
  const names = listQueues(vhost.name).map((q) => q.name);
  t.false(names.includes(`guestagent.${a}`), 'the deleted guest queue was declared again');
  t.true(names.includes(`guestagent.${b}`), 'the other guest keeps its queue');
});

test('the guest config carries the guest its own bus user, not the service credentials', (t) => {
  const service = 'rabbit://trove:s3rvice-secret@10.0.0.5:5672,trove:s3rvice-secret@10.0.0.6:5672/trove';
  const bus = busAccountsFromConfig({}, service, 'trove')!;
  t.is(bus.target.url, 'http://10.0.0.5:15672/');
  const url = guestTransportUrl(bus.target, 'i-1', 'pw');
  t.is(url, 'rabbit://trove-guest-i-1:pw@10.0.0.5:5672,trove-guest-i-1:pw@10.0.0.6:5672/trove');
  const conf = renderGuestConfig(
    { instanceId: 'i-1', tenantId: 'p', manager: 'mysql', version: '8', reportInterval: 5, rpcKey: null, backupKey: null },
    { transport_url: service, control_exchange: 'trove', rpc_response_timeout: 60 },
    url,
  );
  t.false(conf.includes('s3rvice-secret'));
  t.regex(conf, /^transport_url = rabbit:\/\/trove-guest-i-1:pw@/m);
});
