// One RPC suite run against every Transport (memory, the all-in-one socket bus, AMQP): the same
// behaviour from each, asserted on values and on the oslo wire format.
import type { ExecutionContext, TestFn } from 'ava';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { createLogger } from '../../src/common/log.js';
import { defineContract } from '../../src/rpc/contract.js';
import { secureSerializer } from '../../src/rpc/encryption.js';
import { unwrap, wrap } from '../../src/rpc/envelope.js';
import { RemoteError, RpcClient, RpcServer, RpcTimeoutError } from '../../src/rpc/rpc.js';
import type { Transport } from '../../src/rpc/transport.js';

export const quietLog = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });

/** A debug logger whose lines the test can read. */
export function capturingLog(): { log: typeof quietLog; text(): string } {
  const lines: string[] = [];
  const log = createLogger('test', { level: 'debug', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
  return { log, text: () => lines.join('') };
}

const demo = defineContract({
  add: { kind: 'call', since: '1.0', args: z.object({ a: z.number(), b: z.number() }), result: z.number() },
  fail: { kind: 'call', since: '1.0', args: z.object({ password: z.string().optional() }), result: z.null() },
  slow: { kind: 'call', since: '1.0', args: z.object({ ms: z.number() }), result: z.string() },
  whoami: { kind: 'call', since: '1.1', args: z.object({}), result: z.string() },
  note: { kind: 'cast', since: '1.0', args: z.object({ text: z.string() }), result: z.null() },
});

class NotSupportedError extends Error {
  override name = 'NotSupportedError';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (ok: () => boolean, ms = 3000) => {
  for (const end = Date.now() + ms; !ok() && Date.now() < end;) await sleep(20);
};

let seq = 0;

export function transportContract(test: TestFn, make: () => Promise<Transport>, label: string): void {
  const topic = () => `guestagent.test-${label}-${process.pid}-${++seq}`;

  async function pair(t: ExecutionContext, notes: string[] = [], who = 'one', log = quietLog) {
    const tr = await make();
    const server = new RpcServer(tr, log);
    const client = new RpcClient(tr, log, { timeoutMs: 5000 });
    t.teardown(async () => {
      await client.close();
      await server.close();
      await tr.close();
    });
    const handlers = {
      add: async ({ a, b }: { a: number; b: number }) => a + b,
      fail: async () => {
        throw new NotSupportedError(`create_user is not supported by ${who}`);
      },
      slow: async ({ ms }: { ms: number }) => {
        notes.push(`${who}:slow`);
        await sleep(ms);
        return who;
      },
      whoami: async (_: object, ctx: { context: Record<string, unknown> }) => `${who}/${String(ctx.context.request_id)}`,
      note: async ({ text }: { text: string }) => {
        notes.push(`${who}:${text}`);
      },
    };
    return { tr, server, client, handlers };
  }

  test(`${label}: call and reply, typed stub, context`, async (t) => {
    const name = topic();
    const { tr, server, client, handlers } = await pair(t);
    await server.serve(name, demo, handlers);
    const stub = client.stub(demo, name, { context: { request_id: 'req-1' } });
    t.is(await stub.add({ a: 2, b: 40 }), 42);
    t.is(await stub.whoami(), 'one/req-1');
    t.is(await stub.whoami({}, { context: { request_id: 'req-2' } }), 'one/req-2');
    t.is(tr.state, 'connected');
  });

  test(`${label}: a remote exception comes back by class name`, async (t) => {
    const name = topic();
    const { server, client, handlers } = await pair(t);
    await server.serve(name, demo, handlers);
    const err = await t.throwsAsync(client.stub(demo, name).fail(), { instanceOf: RemoteError });
    t.is(err?.remoteClass, 'NotSupportedError');
    t.is(err?.message, 'create_user is not supported by one');
  });

  test(`${label}: bad arguments, unknown methods and versions are failures, not crashes`, async (t) => {
    const name = topic();
    const { tr, server, client, handlers } = await pair(t);
    await server.serve(name, demo, handlers);
    const bad = await t.throwsAsync(client.call(name, 'add', { a: 'x' }), { instanceOf: RemoteError });
    t.is(bad?.remoteClass, 'InvalidRPCArguments');
    t.regex(bad!.message, /^add: invalid argument a:/);
    const unknown = await t.throwsAsync(client.call(name, 'nope', {}), { instanceOf: RemoteError });
    t.is(unknown?.remoteClass, 'NoSuchMethod');
    const newer = await t.throwsAsync(client.call(name, 'add', { a: 1, b: 1 }, { version: '1.2' }), { instanceOf: RemoteError });
    t.is(newer?.remoteClass, 'UnsupportedVersion');
    const major = await t.throwsAsync(client.call(name, 'add', { a: 1, b: 1 }, { version: '2.0' }), { instanceOf: RemoteError });
    t.is(major?.remoteClass, 'UnsupportedVersion');
    await tr.send(name, Buffer.from('not json'));
    t.is(await client.stub(demo, name).add({ a: 1, b: 1 }), 2, 'the server still serves');
  });

  test(`${label}: a call nobody answers in time times out; its late reply is dropped`, async (t) => {
    const name = topic();
    const { server, client, handlers } = await pair(t);
    await server.serve(name, demo, handlers);
    const err = await t.throwsAsync(client.stub(demo, name).slow({ ms: 400 }, { timeoutMs: 150 }), { instanceOf: RpcTimeoutError });
    t.is(err?.method, 'slow');
    await t.throwsAsync(client.call(`${name}-nobody`, 'add', { a: 1, b: 2 }, { timeoutMs: 100 }), { instanceOf: RpcTimeoutError });
    await sleep(350);
    t.is(await client.stub(demo, name).add({ a: 3, b: 4 }), 7);
  });

  test(`${label}: a reply to a caller that went away is dropped harmlessly`, async (t) => {
    const name = topic();
    const serverLog = capturingLog();
    const started: string[] = [];
    const { server, handlers } = await pair(t, started, 'one', serverLog.log);
    await server.serve(name, demo, handlers);
    const gone = await pair(t);
    // the handler outlasts the close even on a loaded machine (with 400 ms its reply once came first);
    // the call's own timeout is long: a loaded machine took over 5 s to deliver it
    const HANDLER_MS = 3000;
    const pending = gone.client.stub(demo, name).slow({ ms: HANDLER_MS }, { timeoutMs: 120_000 });
    await until(() => started.length > 0, 60_000);
    t.deepEqual(started, ['one:slow'], 'the handler runs before the caller goes away');
    const handlerStarted = Date.now();
    await gone.client.close();
    await t.throwsAsync(pending, { message: 'RPC client closed' });
    // the reply has been sent (to nobody) by then
    await sleep(Math.max(0, handlerStarted + HANDLER_MS + 500 - Date.now()));
    const other = await pair(t);
    t.is(await other.client.stub(demo, name).add({ a: 5, b: 5 }), 10);
    t.notRegex(serverLog.text(), /could not send an RPC reply|handler failed/);
  });

  test(`${label}: a call whose reply queue is still being set up when its client closes is never sent`, async (t) => {
    const name = topic();
    const notes: string[] = [];
    const { server, handlers } = await pair(t, notes);
    await server.serve(name, demo, handlers);
    // a loaded machine: the caller's reply queue takes a while to declare, and the client closes meanwhile
    const tr = await make();
    const declare = tr.declare.bind(tr);
    tr.declare = async (...a: Parameters<Transport['declare']>) => {
      await sleep(300);
      return declare(...a);
    };
    const client = new RpcClient(tr, quietLog, { timeoutMs: 5000 });
    t.teardown(async () => {
      await client.close();
      await tr.close();
    });
    const pending = client.stub(demo, name).slow({ ms: 10 });
    await sleep(50);
    await client.close();
    await t.throwsAsync(pending, { message: 'RPC client closed' });
    await sleep(700);
    t.deepEqual(notes, [], 'the call was never sent');
  });

  test(`${label}: a cast sent before the server starts is delivered when it starts`, async (t) => {
    const name = topic();
    const notes: string[] = [];
    const { server, client, handlers } = await pair(t, notes);
    await client.prepareTopic(name);
    await client.stub(demo, name).note({ text: 'early' });
    await sleep(50);
    t.deepEqual(notes, [], 'nobody serves yet');
    await server.serve(name, demo, handlers);
    await until(() => notes.length > 0);
    t.deepEqual(notes, ['one:early']);
  });

  test(`${label}: a call still queued when its caller gave up is never run`, async (t) => {
    const name = topic();
    const started: string[] = [];
    const { server, client, handlers } = await pair(t, started);
    await client.prepareTopic(name);
    await t.throwsAsync(client.stub(demo, name).slow({ ms: 1 }, { timeoutMs: 100 }), { instanceOf: RpcTimeoutError });
    await sleep(50);
    await server.serve(name, demo, handlers);
    t.is(await client.stub(demo, name).add({ a: 1, b: 2 }), 3);
    await sleep(50);
    t.deepEqual(started, [], 'the expired call did not run');
  });

  test(`${label}: a cast to the taskmanager waits for it, with no queue declared beforehand`, async (t) => {
    const notes: string[] = [];
    const { server, client, handlers } = await pair(t, notes);
    await client.stub(demo, 'taskmanager').note({ text: `queued-${label}` });
    await sleep(50);
    await server.serve('taskmanager', demo, handlers);
    await until(() => notes.length > 0);
    t.deepEqual(notes, [`one:queued-${label}`]);
  });

  test(`${label}: two servers of one topic share the work; a fanout cast reaches both`, async (t) => {
    const name = topic();
    const notes: string[] = [];
    const a = await pair(t, notes, 'a');
    const b = await pair(t, notes, 'b');
    await a.server.serve(name, demo, a.handlers);
    await b.server.serve(name, demo, b.handlers);
    const who = await Promise.all(Array.from({ length: 8 }, () => a.client.stub(demo, name).slow({ ms: 30 })));
    t.true(who.includes('a') && who.includes('b'), who.join(','));
    await a.client.stub(demo, name).note({ text: 'all' }, { fanout: true });
    await until(() => notes.filter((n) => n.endsWith(':all')).length >= 2);
    await sleep(50);
    t.deepEqual(notes.filter((n) => n.endsWith(':all')).sort(), ['a:all', 'b:all']);
  });

  test(`${label}: the oslo wire format, encrypted with Trove's serializer`, async (t) => {
    const name = topic();
    const { tr, server, client, handlers } = await pair(t);
    await server.serve(name, demo, handlers, { serializer: secureSerializer('instance-key') });
    const seen: Array<Record<string, unknown>> = [];
    await tr.declare(`${name}-tap`, [name], { durable: false, exclusive: true });
    const tap = await tr.consume(`${name}-tap`, async (body) => void seen.push(JSON.parse(body.toString())));
    t.teardown(() => tap.cancel());
    const stub = client.stub(demo, name, { serializer: secureSerializer('instance-key'), context: { request_id: 'req-7', auth_token: 'tok-SECRET' } });
    t.is(await stub.add({ a: 20, b: 22 }), 42);
    t.is(await stub.whoami(), 'one/req-7');
    await until(() => seen.length >= 2);
    t.is(seen[0]!['oslo.version'], '2.0');
    const inner = unwrap(Buffer.from(JSON.stringify(seen[0])));
    t.is(inner.method, 'add');
    t.is(inner.version, '1.0');
    t.regex(String(inner._msg_id), /^[0-9a-f]{32}$/);
    t.regex(String(inner._unique_id), /^[0-9a-f]{32}$/);
    t.regex(String(inner._reply_q), /^reply_[0-9a-f]{32}$/);
    t.is(inner._timeout, 5, 'seconds');
    t.deepEqual(Object.keys(inner.args as object).sort(), ['a', 'b']);
    t.regex(String((inner.args as Record<string, unknown>).a), /^[A-Za-z0-9+/]+=*$/, 'each value encrypted');
    t.is(typeof inner._context_context, 'string');
    t.false(JSON.stringify(seen).includes('tok-SECRET'));
    t.is(unwrap(Buffer.from(JSON.stringify(seen[1]))).version, '1.1');
    const wrong = client.stub(demo, name, { serializer: secureSerializer('another key') });
    t.is((await t.throwsAsync(wrong.add({ a: 1, b: 2 }), { instanceOf: RemoteError }))?.remoteClass, 'InvalidRPCArguments');
  });

  test(`${label}: replies and failures as an oslo (Python) caller sees them`, async (t) => {
    const name = topic();
    const { tr, server, handlers } = await pair(t);
    await server.serve(name, demo, handlers);
    const replies: Array<Record<string, unknown>> = [];
    const rq = `reply_${label}${seq}`;
    await tr.declare(rq, [], { durable: false, exclusive: true });
    const c = await tr.consume(rq, async (body) => void replies.push(unwrap(body)));
    t.teardown(() => c.cancel());
    const ask = (method: string, args: object, msgId: string) =>
      tr.publish(
        name,
        wrap({ method, args, version: '1.0', _unique_id: `u${msgId}`, _msg_id: msgId, _reply_q: rq, _timeout: 5, _context_request_id: 'r' }),
        false,
      );
    await ask('add', { a: 1, b: 2 }, 'm1');
    await ask('add', { a: 1, b: 2 }, 'm1'); // redelivered: same _unique_id, handled once
    await ask('fail', { password: 'hunter2-PLANTED' }, 'm2');
    await until(() => replies.length >= 2);
    await sleep(50);
    t.is(replies.length, 2);
    const byId = Object.fromEntries(replies.map((r) => [r._msg_id, r]));
    t.like(byId.m1, { result: 3, failure: null, ending: true, _msg_id: 'm1' });
    t.regex(String(byId.m1!._unique_id), /^[0-9a-f]{32}$/);
    t.like(byId.m2, { result: null, ending: true });
    t.deepEqual(JSON.parse(String(byId.m2!.failure)), {
      class: 'NotSupportedError',
      module: 'trove_ts.rpc',
      message: 'create_user is not supported by one',
      tb: [],
      args: ['create_user is not supported by one'],
      kwargs: {},
    });
  });

  test(`${label}: arguments never reach the log`, async (t) => {
    const name = topic();
    const log = capturingLog();
    const { server, client, handlers } = await pair(t, [], 'one', log.log);
    await server.serve(name, demo, handlers);
    await t.throwsAsync(client.stub(demo, name).fail({ password: 'hunter2-PLANTED' }));
    await t.throwsAsync(client.call(name, 'add', { a: 'hunter2-PLANTED', b: 1 }));
    await t.throwsAsync(client.call(name, 'nope', { password: 'hunter2-PLANTED' }));
    t.regex(log.text(), /"method":"fail"/);
    t.notRegex(log.text(), /hunter2/);
  });
}
