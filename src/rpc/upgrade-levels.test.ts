// The guest version cap: the lower of the agent's reported version and [upgrade_levels]
// guestagent; a stub refuses a verb newer than the cap before sending it, and sends older ones.
import test from 'ava';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { createLogger } from '../common/log.js';
import { defineContract } from './contract.js';
import { RpcClient, RpcServer, RpcVersionCapError } from './rpc.js';
import { MemoryTransport } from './transports/memory.js';
import { guestVersionCap, upgradeLevelsSection } from './upgrade-levels.js';
import { nothing } from './contracts/common.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const latest = upgradeLevelsSection.parse({});

test("the cap is the agent's reported version, 1.1 when it reported none, lowered by [upgrade_levels] guestagent", (t) => {
  t.like(guestVersionCap('i1', '1.2', latest), { version: '1.2', holder: 'The guest agent of instance i1 speaks RPC 1.2', remedy: 'upgrade the agent' });
  t.like(guestVersionCap('i1', null, latest), { version: '1.1' });
  t.regex(guestVersionCap('i1', null, latest).holder, /has not reported its RPC version/);
  t.like(guestVersionCap('i1', '1.2', upgradeLevelsSection.parse({ guestagent: '1.1' })), {
    version: '1.1',
    holder: '[upgrade_levels] guestagent caps guest RPC at 1.1',
  });
  // a configured cap above the agent's does not raise it
  t.like(guestVersionCap('i1', '1.1', upgradeLevelsSection.parse({ guestagent: '1.3' })), { version: '1.1' });
  t.false(upgradeLevelsSection.safeParse({ guestagent: 'newest' }).success);
});

test('a stub refuses a verb newer than the cap before sending it; an older verb reaches the N-1 server', async (t) => {
  const contract = defineContract({
    old_verb: { kind: 'call', since: '1.0', args: z.object({}), result: z.string() },
    new_verb: { kind: 'call', since: '1.2', args: z.object({}), result: z.string() },
    new_cast: { kind: 'cast', since: '1.2', args: z.object({}), result: nothing },
  });
  const transport = new MemoryTransport();
  const received: string[] = [];
  const server = new RpcServer(transport, log);
  // an N-1 server: it serves 1.1
  await server.serve(
    'guestagent.i1',
    contract,
    {
      old_verb: async () => (received.push('old_verb'), 'old'),
      new_verb: async () => (received.push('new_verb'), 'new'),
      new_cast: async () => void received.push('new_cast'),
    },
    { version: '1.1' },
  );
  const client = new RpcClient(transport, log, { timeoutMs: 5000 });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  const stub = client.stub(contract, 'guestagent.i1', { versionCap: async () => guestVersionCap('i1', '1.1', latest) });
  t.is(await stub.old_verb(), 'old');
  const refused = await t.throwsAsync(stub.new_verb(), { instanceOf: RpcVersionCapError });
  t.is(refused.message, 'The guest agent of instance i1 speaks RPC 1.1; new_verb needs RPC 1.2: upgrade the agent.');
  t.is(refused.httpStatus, 400);
  await t.throwsAsync(stub.new_cast(), { instanceOf: RpcVersionCapError });
  t.deepEqual(received, ['old_verb']);
});
