// Trove's encrypted paths end to end over the in-process transport: guest → conductor with the
// instance's key found by the conductor, and a guest that claims another instance's identity.
import test from 'ava';
import { conductorContract, CONDUCTOR_TOPIC } from './contracts/conductor.js';
import { conductorGuestSerializer, conductorHostSerializer, OPENED_BY } from './encryption.js';
import { RpcClient, RpcServer } from './rpc.js';
import { MemoryTransport } from './transports/memory.js';
import { capturingLog, quietLog } from '../../test/helpers/transport.contract.js';

const KEYS: Record<string, string> = { 'inst-1': 'key-of-inst-1', 'inst-2': 'key-of-inst-2' };

test('a guest heartbeat, encrypted with its key, reaches the conductor decrypted; a forged one does not', async (t) => {
  const tr = new MemoryTransport();
  const seen: Array<{ instance_id: string; status?: string; context: Record<string, unknown> }> = [];
  const log = capturingLog();
  const server = new RpcServer(tr, log.log);
  const noop = async () => undefined;
  await server.serve(
    CONDUCTOR_TOPIC,
    conductorContract,
    {
      heartbeat: async (a, ctx) => void seen.push({ instance_id: a.instance_id, status: a.payload.service_status, context: ctx.context }),
      update_backup: noop,
      report_root: noop,
      notify_end: noop,
      notify_exc_info: noop,
      report_usage: noop,
    },
    { serializer: conductorHostSerializer({ instanceKey: async (id) => KEYS[id] }) },
  );
  const guest = new RpcClient(tr, quietLog);
  const conductor = guest.stub(conductorContract, CONDUCTOR_TOPIC, {
    serializer: conductorGuestSerializer(KEYS['inst-1'], 'inst-1'),
    context: { request_id: 'hb-1' },
  });
  await conductor.heartbeat({ instance_id: 'inst-1', payload: { service_status: 'healthy' }, sent: 1 });
  // inst-1's key, but claiming to be inst-2: the conductor decrypts with inst-2's key and fails
  const forger = guest.stub(conductorContract, CONDUCTOR_TOPIC, { serializer: conductorGuestSerializer(KEYS['inst-1'], 'inst-2') });
  await forger.heartbeat({ instance_id: 'inst-2', payload: { service_status: 'shutdown' }, sent: 2 });
  for (let i = 0; i < 50 && !/RPC message refused/.test(log.text()); i++) await new Promise((r) => setTimeout(r, 10));
  t.deepEqual(seen, [{ instance_id: 'inst-1', status: 'healthy', context: { request_id: 'hb-1', [OPENED_BY]: 'inst-1' } }]);
  t.regex(log.text(), /"method":"heartbeat".*RPC message refused/);
  await guest.close();
  await server.close();
  await tr.close();
});

test("a guest's encrypted topic handles only what its key opens: plaintext or another key's message is refused, the handler never runs", async (t) => {
  const { guestContract, guestTopic } = await import('./contracts/guest.js');
  const { plainSerializer, secureSerializer } = await import('./encryption.js');
  const tr = new MemoryTransport();
  const log = capturingLog();
  const server = new RpcServer(tr, log.log);
  const calls: string[] = [];
  const handlers = Object.fromEntries(Object.keys(guestContract).map((verb) => [verb, async () => void calls.push(verb)])) as never;
  await server.serve(guestTopic('inst-1'), guestContract, handlers, { serializer: secureSerializer(KEYS['inst-1']) });
  const client = new RpcClient(tr, quietLog, { timeoutMs: 2000 });
  // what anyone on the bus could send: in clear, or sealed with the key of their own instance
  for (const serializer of [plainSerializer, secureSerializer(KEYS['inst-2'])]) {
    const guest = client.stub(guestContract, guestTopic('inst-1'), { serializer });
    await t.throwsAsync(guest.enable_root_with_password({ root_password: 'Forged-pw-1' }), { message: /could not be decrypted/ });
  }
  // the instance's own key still works
  const own = client.stub(guestContract, guestTopic('inst-1'), { serializer: secureSerializer(KEYS['inst-1']) });
  await own.enable_root_with_password({ root_password: 'Real-pw-1' }).catch(() => undefined);
  t.deepEqual(calls, ['enable_root_with_password'], 'only the message sealed with the instance key was handled');
  t.notRegex(log.text(), /Forged-pw-1|Real-pw-1/, 'no password in the log');
  await client.close();
  await server.close();
  await tr.close();
});
