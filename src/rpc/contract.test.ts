import test from 'ava';
import { z } from 'zod';
import { contractVersion, defineContract, versionCompatible, type Handlers, type Stub } from './contract.js';
import { RpcClient, RpcServer } from './rpc.js';
import { MemoryTransport } from './transports/memory.js';
import { quietLog } from '../../test/helpers/transport.contract.js';

const c = defineContract({
  get_thing: { kind: 'call', since: '1.0', args: z.object({ id: z.string() }), result: z.object({ id: z.string(), size: z.number() }) },
  poke: { kind: 'cast', since: '1.2', args: z.object({ hard: z.boolean().optional() }), result: z.null() },
});

test('oslo version compatibility: same major, server minor (then revision) at least the caller', (t) => {
  t.true(versionCompatible('1.3', '1.0'));
  t.true(versionCompatible('1.3', '1.3'));
  t.false(versionCompatible('1.1', '1.3'));
  t.false(versionCompatible('2.0', '1.0'));
  t.true(versionCompatible('1.3.2', '1.3.1'));
  t.false(versionCompatible('1.3', '1.3.1'));
  t.false(versionCompatible('1.x', '1.0'));
  t.is(contractVersion(c), '1.2');
});

test('a stub checks arguments before sending and results on return; casts resolve to undefined', async (t) => {
  const tr = new MemoryTransport();
  const server = new RpcServer(tr, quietLog);
  const client = new RpcClient(tr, quietLog, { timeoutMs: 1000 });
  const pokes: Array<boolean | undefined> = [];
  const handlers: Handlers<typeof c> = {
    get_thing: async ({ id }) => ({ id, size: id === 'bad' ? ('big' as unknown as number) : 3 }),
    poke: async ({ hard }) => void pokes.push(hard),
  };
  await server.serve('thing', c, handlers);
  const stub: Stub<typeof c> = client.stub(c, 'thing');
  t.deepEqual(await stub.get_thing({ id: 'a' }), { id: 'a', size: 3 });
  await t.throwsAsync(stub.get_thing({ id: 7 as unknown as string }), { instanceOf: z.ZodError }, 'refused before it leaves');
  await t.throwsAsync(stub.get_thing({ id: 'bad' }), { instanceOf: z.ZodError }, 'a result off the contract is refused');
  t.is(await stub.poke(), undefined, 'a verb with only optional arguments needs none');
  await stub.poke({ hard: true });
  for (let i = 0; i < 50 && pokes.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  t.deepEqual(pokes, [undefined, true]);
  await client.close();
  await server.close();
  await tr.close();
});

test('the compiler holds the handler map to the contract', (t) => {
  // @ts-expect-error poke has no handler
  const missing: Handlers<typeof c> = { get_thing: async ({ id }) => ({ id, size: 1 }) };
  const wrongResult: Handlers<typeof c> = {
    // @ts-expect-error the result schema wants a size
    get_thing: async ({ id }) => ({ id }),
    poke: async () => undefined,
  };
  t.truthy(missing && wrongResult);
});
