import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { transportContract, quietLog } from '../../../test/helpers/transport.contract.js';
import { MemoryBroker } from './memory.js';
import { SocketBroker } from './socket-broker.js';
import { SocketTransport } from './socket.js';
import { serviceGrant, type BusAuthenticator } from './socket-access.js';

// the contract as a service's connection (a guest's own rights are test/integration/aio-bus-identity's)
const svc = { user: 'svc', password: 'svc-pw' };
const auth: BusAuthenticator = { authenticate: async (u, p) => (u === svc.user && p === svc.password ? serviceGrant(u) : undefined) };
const sock = path.join(mkdtempSync(path.join(tmpdir(), 'bus-')), 'bus.sock');
const broker = new SocketBroker(new MemoryBroker(), sock, quietLog, auth);
test.before(() => broker.listen());
test.after.always(() => broker.close());

transportContract(test, async () => new SocketTransport(sock, quietLog, svc), 'socket');

test.serial('socket: a guest re-subscribes after the bus restarts', async (t) => {
  const { z } = await import('zod');
  const { defineContract } = await import('../contract.js');
  const { RpcClient, RpcServer } = await import('../rpc.js');
  const path2 = path.join(mkdtempSync(path.join(tmpdir(), 'bus2-')), 'bus.sock');
  const mem = new MemoryBroker();
  let b = new SocketBroker(mem, path2, quietLog, auth);
  await b.listen();
  const contract = defineContract({ echo: { kind: 'call', since: '1.0', args: z.object({ v: z.string() }), result: z.string() } });
  const guest = new SocketTransport(path2, quietLog, svc);
  const server = new RpcServer(guest, quietLog);
  await server.serve('guestagent.x', contract, { echo: async ({ v }) => v });
  const caller = new SocketTransport(path2, quietLog, svc);
  const client = new RpcClient(caller, quietLog, { timeoutMs: 1000 });
  t.is(await client.stub(contract, 'guestagent.x').echo({ v: 'one' }), 'one');
  await b.close();
  b = new SocketBroker(mem, path2, quietLog, auth);
  await b.listen();
  let answer: string | undefined;
  for (let i = 0; i < 30 && !answer; i++) {
    await new Promise((r) => setTimeout(r, 200));
    answer = await client
      .stub(contract, 'guestagent.x')
      .echo({ v: 'two' }, { timeoutMs: 500 })
      .catch(() => undefined);
  }
  t.is(answer, 'two');
  await client.close();
  await server.close();
  await guest.close();
  await caller.close();
  await b.close();
});

test('socket: a transport_url whose path the kernel would cut short is refused at start, naming the key', (t) => {
  const deep = `/${'d'.repeat(120)}/bus.sock`;
  const err = t.throws(() => new SocketTransport(deep, quietLog));
  t.regex(err!.message, /is 130 bytes long, over the kernel's limit of 107 bytes: set \[DEFAULT\] transport_url/);
});
