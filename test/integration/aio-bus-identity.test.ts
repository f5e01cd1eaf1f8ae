// Each guest's own user on the all-in-one socket bus (issue 12, item 2), wired as the all-in-one
// wires it (src/cmd/all-in-one.ts): the in-process broker served on a unix socket, the guests'
// users in LocalBusAccounts behind the BusAccounts interface, the guests connecting with the
// transport_url their config gets. Guest B cannot read guest A's topic nor reach the taskmanager,
// a connection with no or a wrong credential can do nothing, a valid guest still heartbeats and
// answers calls, and a removed guest's user, connection and queue are gone.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { z } from 'zod';
import { capturingLog, quietLog } from '../helpers/transport.contract.js';
import { LocalBusAccounts } from '../../src/clients/local/bus-accounts.js';
import type { BusAccounts } from '../../src/clients/bus-accounts.js';
import { MemoryBroker, MemoryTransport } from '../../src/rpc/transports/memory.js';
import { SocketBroker, frameReader, type Frame } from '../../src/rpc/transports/socket-broker.js';
import { createTransport } from '../../src/rpc/config.js';
import { RpcClient, RpcServer } from '../../src/rpc/rpc.js';
import { defineContract } from '../../src/rpc/contract.js';
import { unwrap } from '../../src/rpc/envelope.js';
import { CONDUCTOR_TOPIC, conductorContract } from '../../src/rpc/contracts/conductor.js';
import { TASKMANAGER_TOPIC } from '../../src/rpc/topics.js';
import type { Transport } from '../../src/rpc/transport.js';

const echo = defineContract({ echo: { kind: 'call', since: '1.0', args: z.object({ v: z.string() }), result: z.string() } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const topic = (id: string) => `guestagent.${id}`;

async function setup(t: import('ava').ExecutionContext) {
  const dir = mkdtempSync(path.join(tmpdir(), 'aio-bus-'));
  const busPath = path.join(dir, 'bus.sock');
  const mem = new MemoryBroker();
  const log = capturingLog();
  const accounts = new LocalBusAccounts(path.join(dir, 'bus-users.json'), busPath);
  const bus = new SocketBroker(mem, busPath, log.log, accounts);
  accounts.attach(bus);
  await bus.listen();
  const closers: Array<() => Promise<unknown>> = [];
  t.teardown(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // the services, in-process as in the all-in-one
  const service = new MemoryTransport(mem);
  const tm = new RpcClient(service, quietLog, { timeoutMs: 3000 });
  closers.push(() => tm.close());
  const conductor: Array<Record<string, unknown>> = [];
  const taskmanager: Buffer[] = [];
  await service.declare(CONDUCTOR_TOPIC, [CONDUCTOR_TOPIC], { durable: true });
  await service.consume(CONDUCTOR_TOPIC, async (m) => void conductor.push(unwrap(m)));
  await service.declare(TASKMANAGER_TOPIC, [TASKMANAGER_TOPIC], { durable: true });
  await service.consume(TASKMANAGER_TOPIC, async (m) => void taskmanager.push(m));

  const [a, b] = [randomUUID(), randomUUID()];
  const urls: Record<string, string> = {};
  const busAccounts: BusAccounts = accounts; // what the taskmanager's flows see
  for (const id of [a, b]) {
    const password = randomBytes(24).toString('base64url');
    await busAccounts.ensureGuest(id, password); // as provision does
    urls[id] = accounts.transportUrl(id, password);
    await tm.prepareTopic(topic(id));
  }
  /** A transport made from a guest config's transport_url, as guestagent/main.ts makes it. */
  const transport = (url: string): Transport => {
    const tr = createTransport({ transport_url: url, control_exchange: 'trove', rpc_response_timeout: 5 }, quietLog);
    closers.push(() => tr.close());
    return tr;
  };
  /** A guest agent: serves its topic (echo) and heartbeats to the conductor. */
  const agent = async (id: string) => {
    const tr = transport(urls[id]!);
    const server = new RpcServer(tr, quietLog);
    closers.push(() => server.close());
    await server.serve(topic(id), echo, { echo: async ({ v }) => `${id.slice(0, 4)}:${v}` });
    const client = new RpcClient(tr, quietLog, { timeoutMs: 3000, declareServiceTopics: false });
    closers.push(() => client.close());
    const beat = () =>
      client.stub(conductorContract, CONDUCTOR_TOPIC).heartbeat({ instance_id: id, payload: { service_status: 'healthy' }, sent: Date.now() / 1000 });
    return { tr, beat };
  };
  return { dir, busPath, mem, log, accounts, tm, conductor, taskmanager, a, b, urls, transport, agent };
}

/** A raw connection to the bus: frames in, the answer to each (ok or error) out. */
async function raw(t: import('ava').ExecutionContext, busPath: string) {
  const s = connect(busPath);
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
  t.teardown(() => void s.destroy());
  const answers = new Map<number, Frame>();
  const deliveries: Frame[] = [];
  let closed = false;
  s.on('close', () => (closed = true));
  s.on(
    'data',
    frameReader((f) => (f.op === 'deliver' ? deliveries.push(f) : answers.set(f.id!, f))),
  );
  let next = 1;
  const send = async (f: Frame): Promise<Frame | undefined> => {
    const id = next++;
    s.write(`${JSON.stringify({ ...f, id })}\n`);
    for (let i = 0; i < 50 && !answers.has(id) && !closed; i++) await sleep(20);
    return answers.get(id);
  };
  return { send, deliveries, closed: () => closed };
}

test('aio bus: guest B cannot read A, reach the taskmanager or forge replies; A still works end to end', async (t) => {
  const { log, tm, conductor, taskmanager, a, b, transport, urls, agent, dir } = await setup(t);
  t.false(urls[a]!.includes(urls[b]!.split('@')[0]!.split(':')[2]!), 'each guest has a password of its own');

  // A: a call answered, a heartbeat at the conductor
  const guestA = await agent(a);
  t.is(await tm.stub(echo, topic(a)).echo({ v: 'hi' }), `${a.slice(0, 4)}:hi`);
  await guestA.beat();
  for (let i = 0; i < 50 && conductor.length === 0; i++) await sleep(20);
  t.is(conductor.length, 1);
  t.is(conductor[0]!.method, 'heartbeat');
  t.is((conductor[0]!.args as { instance_id: string }).instance_id, a);

  // B with its own (valid) credential
  const guestB = transport(urls[b]!);
  await guestB.declare(topic(b), [topic(b)], { durable: true }); // its own: fine
  const stolen: Buffer[] = [];
  await t.throwsAsync(
    guestB.consume(topic(a), async (m) => void stolen.push(m)),
    { message: /ACCESS_REFUSED/ },
  );
  await t.throwsAsync(guestB.declare(topic(a), [topic(a)], { durable: true }), { message: /ACCESS_REFUSED/ });
  // its own queue bound to A's key or the taskmanager's (to read their messages)
  await t.throwsAsync(guestB.declare(topic(b), [topic(a)], { durable: true }), { message: /ACCESS_REFUSED/ });
  await t.throwsAsync(guestB.declare(topic(b), [TASKMANAGER_TOPIC], { durable: true }), { message: /ACCESS_REFUSED/ });
  await t.throwsAsync(guestB.declare(`${topic(b)}_fanout_00`, [], { durable: false, exclusive: true, fanout: `${topic(a)}_fanout` }), {
    message: /ACCESS_REFUSED/,
  });
  await t.throwsAsync(guestB.publish(TASKMANAGER_TOPIC, Buffer.from('{}'), true), { message: /ACCESS_REFUSED/ });
  await t.throwsAsync(guestB.publish(topic(a), Buffer.from('{}'), true), { message: /ACCESS_REFUSED/ });
  await t.throwsAsync(guestB.fanout(`${topic(a)}_fanout`, Buffer.from('{}')), { message: /ACCESS_REFUSED/ });
  await t.throwsAsync(guestB.send(TASKMANAGER_TOPIC, Buffer.from('{}')), { message: /ACCESS_REFUSED/ });
  // a reply queue of a caller that never called B (the taskmanager's, which called A)
  const replyQ = (tm as unknown as { replyQueue: Promise<string> }).replyQueue;
  await t.throwsAsync(guestB.send(await replyQ, Buffer.from('{}')), { message: /ACCESS_REFUSED/ });
  // the conductor: allowed
  await guestB.publish(CONDUCTOR_TOPIC, Buffer.from('{"oslo.version":"2.0","oslo.message":"{}"}'), true);

  // A's messages still reach A only
  t.is(await tm.stub(echo, topic(a)).echo({ v: 'again' }), `${a.slice(0, 4)}:again`);
  t.deepEqual(stolen, []);
  await sleep(100);
  t.is(taskmanager.length, 0, 'nothing reached the taskmanager');
  t.is(conductor.length, 2);

  const lines = log.text();
  t.regex(lines, new RegExp(`"user":"trove-guest-${b}","op":"consume","name":"guestagent.${a}".*bus operation refused`));
  t.regex(lines, new RegExp(`"user":"trove-guest-${b}","op":"publish","name":"taskmanager".*bus operation refused`));
  t.false(lines.includes(urls[b]!.split('@')[0]!.split(':')[2]!), 'no password in the log');
  t.is(statSync(path.join(dir, 'bus-users.json')).mode & 0o777, 0o600);
});

test('aio bus: a connection with no credential, or a wrong one, can do nothing', async (t) => {
  const { log, busPath, taskmanager, a, b, tm, urls } = await setup(t);
  await tm
    .stub(echo, topic(a))
    .echo({ v: 'queued' }, { timeoutMs: 200 })
    .catch(() => undefined); // a message waiting on A's queue

  const anon = await raw(t, busPath);
  for (const f of [
    { op: 'declare', queue: 'mine', keys: [topic(a)], durable: false },
    { op: 'consume', queue: topic(a) },
    { op: 'publish', key: TASKMANAGER_TOPIC, body: Buffer.from('{}').toString('base64') },
    { op: 'publish', key: CONDUCTOR_TOPIC, body: Buffer.from('{}').toString('base64') },
    { op: 'send', queue: TASKMANAGER_TOPIC, body: Buffer.from('{}').toString('base64') },
    { op: 'fanout', exchange: `${topic(a)}_fanout`, body: Buffer.from('{}').toString('base64') },
    { op: 'cancel', consumer: 1 },
  ] as Frame[]) {
    const answer = await anon.send(f);
    t.is(answer?.op, 'error', f.op);
    t.regex(answer?.message ?? '', /ACCESS_REFUSED: not authenticated/);
  }
  t.deepEqual(anon.deliveries, []);

  // a guest's user with another guest's password, and a made-up user: refused, disconnected
  const passB = decodeURIComponent(urls[b]!.split('@')[0]!.split(':')[2]!);
  for (const user of [`trove-guest-${a}`, 'admin']) {
    const c = await raw(t, busPath);
    const answer = await c.send({ op: 'auth', user, password: passB });
    t.is(answer?.op, 'error');
    t.regex(answer?.message ?? '', /ACCESS_REFUSED/);
    for (let i = 0; i < 50 && !c.closed(); i++) await sleep(20);
    t.true(c.closed(), 'the broker closed the connection');
  }
  t.is(taskmanager.length, 0);
  t.regex(log.text(), /bus connection refused: unknown user or wrong password/);
  t.regex(log.text(), /"op":"consume","name":"guestagent\.[^"]+".*not authenticated/);
  t.false(log.text().includes(passB));

  // a line that is not JSON closes the connection; the bus keeps serving
  const junk = await raw(t, busPath);
  const answer = await junk.send({ op: 'nonsense{' } as unknown as Frame).catch(() => undefined);
  t.not(answer?.op, 'ok');
  const s = connect(busPath);
  t.teardown(() => void s.destroy());
  await new Promise<void>((resolve) => s.once('connect', resolve));
  s.write('not json\n');
  await new Promise<void>((resolve) => s.once('close', () => resolve()));
  t.is(
    await tm
      .stub(echo, topic(b))
      .echo({ v: 'x' }, { timeoutMs: 200 })
      .catch((e: Error) => e.name),
    'RpcTimeoutError',
    'the bus is still up (nobody serves B)',
  );
});

test('aio bus: a removed guest loses its user, its connection and its queue, and cannot come back', async (t) => {
  const { accounts, mem, tm, a, b, agent } = await setup(t);
  const guestA = await agent(a);
  t.is(await tm.stub(echo, topic(a)).echo({ v: '1' }), `${a.slice(0, 4)}:1`);
  t.true(accounts.hasGuest(a));

  await accounts.removeGuest(a);
  t.false(accounts.hasGuest(a));
  t.false(mem.queues.has(topic(a)), "the guest's queue is gone");
  for (let i = 0; i < 50 && guestA.tr.state === 'connected'; i++) await sleep(20);
  t.not(guestA.tr.state, 'connected');
  await sleep(1000); // its agent retries meanwhile, with the credential it had
  t.false(mem.queues.has(topic(a)), 'the deleted guest queue was declared again');
  t.not(guestA.tr.state, 'connected');
  await t.throwsAsync(tm.stub(echo, topic(a)).echo({ v: '2' }, { timeoutMs: 300 }));

  // B is untouched
  await agent(b);
  t.is(await tm.stub(echo, topic(b)).echo({ v: '3' }), `${b.slice(0, 4)}:3`);
});
