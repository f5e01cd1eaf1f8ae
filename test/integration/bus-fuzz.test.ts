// Bus fuzzing (issue 12 item 8): forged, plaintext, wrong-key and malformed messages (fast-check,
// fixed seed) at a guest's, the conductor's and the taskmanager's topics on the machine's real
// RabbitMQ (a throwaway vhost). Nothing is handled (spied handlers; the conductor's rows
// unchanged), nothing crashes (each topic still handles a valid message at the end), no secret logged.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { createVhost } from '../helpers/rabbit.js';
import { createThrowawayDb } from '../helpers/throwaway-db.js';
import { logScanLine, scanLogs } from '../helpers/log-scan.js';
import { AmqpTransport } from '../../src/rpc/transports/amqp.js';
import { amqpUrls } from '../../src/rpc/config.js';
import { RpcClient, RpcServer } from '../../src/rpc/rpc.js';
import { wrap } from '../../src/rpc/envelope.js';
import {
  conductorGuestSerializer,
  conductorHostSerializer,
  plainSerializer,
  secureSerializer,
  encryptText,
  type RpcSerializer,
} from '../../src/rpc/encryption.js';
import { conductorContract, CONDUCTOR_TOPIC } from '../../src/rpc/contracts/conductor.js';
import { TASKMANAGER_TOPIC, taskmanagerContract } from '../../src/rpc/contracts/taskmanager.js';
import { guestContract, guestTopic } from '../../src/rpc/contracts/guest.js';
import { conductorHandlers } from '../../src/conductor/manager.js';
import { createLogger } from '../../src/common/log.js';
import { ServiceStatuses } from '../../src/common/service-status.js';

const SEED = Number(process.env.TROVE_FUZZ_SEED ?? 20261203);
const RUNS = Number(process.env.TROVE_BUS_FUZZ_RUNS ?? 600);
const TM_KEY = `tm-key-${randomUUID()}`;
const A = randomUUID(); // the guest under attack (its topic), and a sealed instance at the conductor
const B = randomUUID(); // another sealed instance
const KEYS: Record<string, string> = { [A]: `key-a-${randomUUID()}`, [B]: `key-b-${randomUUID()}` };
const ROOT_PASSWORD = `Bus-Fuzz-Root-${randomUUID().slice(0, 8)}`;

const lines: string[] = [];
const log = createLogger('bus-fuzz', { level: 'debug', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });

/** Handlers that count every call that reaches them. */
function spied(contract: Record<string, unknown>, counts: Map<string, number>) {
  return Object.fromEntries(Object.keys(contract).map((m) => [m, async () => void counts.set(m, (counts.get(m) ?? 0) + 1)])) as never;
}
const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

const guestMethods = Object.keys(guestContract);
const tmMethods = Object.keys(taskmanagerContract);
const condMethods = Object.keys(conductorContract);
const jsonArgs = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 });
const plausible = (id: string) =>
  fc.oneof(
    jsonArgs,
    fc.constant({ instance_id: id }),
    fc.constant({ root_password: ROOT_PASSWORD }),
    fc.constant({ instance_id: id, payload: { service_status: 'shutdown' }, sent: Date.now() / 1000 + 1e6 }),
    fc.constant({ instance_id: id, backup_id: randomUUID(), state: 'COMPLETED', sent: Date.now() / 1000 }),
    fc.constant({ instance_id: id, user: 'root' }),
    fc.constant({ instance_id: id, backup_info: { id: randomUUID(), location: 'swift://evil' }, storage: { driver: 'swift', url: 'http://evil' } }),
  );

type Forged =
  | { kind: 'cast'; label: string; topic: string; method: string; args: Record<string, unknown>; serializer: string }
  | { kind: 'raw'; label: string; topic: string; body: Buffer };
const topics = [
  { topic: guestTopic(A), methods: guestMethods, id: A },
  { topic: TASKMANAGER_TOPIC, methods: tmMethods, id: A },
  { topic: CONDUCTOR_TOPIC, methods: condMethods, id: B },
];
const serializerNames = ['plain', 'wrong-key', 'other-instance-key', 'conductor-wrong-key', 'conductor-a-naming-b', 'garbled-context'] as const;
const cast = fc.tuple(fc.constantFrom(...topics), fc.nat(), fc.constantFrom(...serializerNames)).chain(([t, i, s]) =>
  plausible(t.id).map((args): Forged => ({
    kind: 'cast',
    label: s,
    topic: t.topic,
    method: t.methods[i % t.methods.length]!,
    args: args as Record<string, unknown>,
    serializer: s,
  })),
);
const raw = fc
  .tuple(
    fc.constantFrom(...topics),
    fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
      fc.jsonValue().map((v) => wrap({ v })),
      fc.constant(Buffer.from('{"oslo.version":"2.0","oslo.message":"{not json"}')),
      fc.constant(Buffer.from('{"oslo.version":"2.0","oslo.message":"[1,2]"}')),
      fc.tuple(fc.nat(), jsonArgs).map(([i, args]) => wrap({ method: condMethods[i % condMethods.length], args, version: '1.0', _unique_id: randomUUID() })),
      fc
        .tuple(fc.nat(), fc.string())
        .map(([i, s]) => wrap({ method: guestMethods[i % guestMethods.length], args: encryptText(s, 'not-the-key'), version: '1.0', _context_context: s })),
      fc.nat().map((i) => wrap({ method: tmMethods[i % tmMethods.length], args: { instance_id: encryptText('{}', 'not-the-key') }, version: '99.0' })),
      fc.constant(wrap({ method: '__proto__', args: { instance_id: A }, version: '1.0' })),
      fc.constant(wrap({ method: 'constructor', args: {}, version: '1.0' })),
    ),
  )
  .map(([t, body]): Forged => ({ kind: 'raw', label: 'malformed', topic: t.topic, body }));
const messages = fc.oneof({ arbitrary: cast, weight: 3 }, { arbitrary: raw, weight: 2 });

test('bus fuzz: forged, plaintext, wrong-key and malformed messages are never handled and crash nothing', async (t) => {
  t.timeout(150_000);
  const vhost = createVhost();
  const tdb = await createThrowawayDb();
  const now = new Date();
  for (const id of [A, B]) {
    await tdb.db('instances').insert({ id, name: 'db', tenant_id: 'p', deleted: false, task_id: 1, created: now, updated: now });
    await tdb
      .db('service_statuses')
      .insert({ id: randomUUID(), instance_id: id, status_id: ServiceStatuses.HEALTHY.code, status_description: 'healthy', updated_at: now });
  }
  const options = { urls: amqpUrls(vhost.url), exchange: 'trove', log, heartbeatSeconds: 5, retryIntervalMs: 100, retryBackoffMs: 100, retryMaxMs: 500 };
  const trS = new AmqpTransport(options);
  const trC = new AmqpTransport(options);
  const server = new RpcServer(trS, log);
  const client = new RpcClient(trC, log, { timeoutMs: 3000 });
  t.teardown(async () => {
    await client.close();
    await server.close();
    await trS.close();
    await trC.close();
    vhost.drop();
    await tdb.drop();
  });
  const guestCalls = new Map<string, number>();
  const tmCalls = new Map<string, number>();
  const condDone = new Map<string, number>();
  await server.serve(guestTopic(A), guestContract, spied(guestContract, guestCalls), { serializer: secureSerializer(KEYS[A]) });
  await server.serve(TASKMANAGER_TOPIC, taskmanagerContract, spied(taskmanagerContract, tmCalls), { serializer: secureSerializer(TM_KEY) });
  const real = conductorHandlers(tdb.db, log, { sealed: async (id) => id in KEYS });
  const counted = Object.fromEntries(
    Object.entries(real).map(([m, h]) => [
      m,
      async (a: never, ctx: never) => {
        await (h as unknown as (x: never, c: never) => Promise<unknown>)(a, ctx);
        condDone.set(m, (condDone.get(m) ?? 0) + 1);
      },
    ]),
  ) as never;
  await server.serve(CONDUCTOR_TOPIC, conductorContract, counted, { serializer: conductorHostSerializer({ instanceKey: async (id) => KEYS[id] }) });

  const serializers: Record<(typeof serializerNames)[number], RpcSerializer> = {
    plain: plainSerializer,
    'wrong-key': secureSerializer(`wrong-${randomUUID()}`),
    'other-instance-key': secureSerializer(KEYS[B]),
    'conductor-wrong-key': conductorGuestSerializer(`wrong-${randomUUID()}`, B),
    'conductor-a-naming-b': conductorGuestSerializer(KEYS[A], A),
    'garbled-context': { ...plainSerializer, serializeContext: () => ({ context: encryptText('[]', KEYS[A]!) }) },
  };
  const rows = async () =>
    JSON.stringify(await tdb.db('service_statuses').orderBy('instance_id').select()) +
    JSON.stringify(await tdb.db('backups').select()) +
    JSON.stringify(await tdb.db('root_enabled_history').select());
  const before = await rows();
  const forged = fc.sample(messages, { numRuns: RUNS, seed: SEED });
  t.log(`seed ${SEED} (TROVE_FUZZ_SEED), ${forged.length} messages`);
  for (const m of forged) {
    if (m.kind === 'raw') await trC.publish(m.topic, m.body, false);
    // at the conductor, a message sealed with A's key names B (the serializer seals with A's key)
    else
      await client
        .cast(m.topic, m.method, m.serializer === 'conductor-a-naming-b' ? { ...m.args, instance_id: B } : m.args, {
          serializer: serializers[m.serializer as keyof typeof serializers],
          version: '1.0',
        })
        .catch(() => undefined);
  }
  // the queues drain in order: a valid message on each topic after the forged ones is handled last
  await client.cast(guestTopic(A), 'restart', {}, { serializer: secureSerializer(KEYS[A]), version: '1.0' });
  await client.cast(TASKMANAGER_TOPIC, 'delete_instance', { instance_id: A }, { serializer: secureSerializer(TM_KEY), version: '1.0' });
  const unchanged = await rows();
  await client
    .stub(conductorContract, CONDUCTOR_TOPIC, { serializer: conductorGuestSerializer(KEYS[A], A) })
    .heartbeat({ instance_id: A, payload: { service_status: 'shutdown' }, sent: Date.now() / 1000 });
  for (const until = Date.now() + 20_000; Date.now() < until && !(guestCalls.get('restart') && tmCalls.get('delete_instance') && condDone.get('heartbeat'));)
    await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 500));

  if (!condDone.get('heartbeat'))
    t.log(
      lines
        .filter((l) => l.includes('heartbeat') || l.includes(A))
        .slice(-4)
        .join('\n')
        .slice(0, 1500),
    );
  const handled =
    total(guestCalls) -
    (guestCalls.get('restart') ?? 0) +
    total(tmCalls) -
    (tmCalls.get('delete_instance') ?? 0) +
    total(condDone) -
    (condDone.get('heartbeat') ?? 0);
  t.deepEqual(
    [Object.fromEntries(guestCalls), Object.fromEntries(tmCalls), Object.fromEntries(condDone)],
    [{ restart: 1 }, { delete_instance: 1 }, { heartbeat: 1 }],
    'only the valid messages were handled',
  );
  t.is(unchanged, before, "the conductor's rows are unchanged by the forged messages");
  const status = (await tdb.db('service_statuses').where({ instance_id: A }).first()).status_description;
  t.is(status, 'shutdown', 'the conductor still applies a valid heartbeat');
  const crashes = [guestCalls.get('restart'), tmCalls.get('delete_instance'), condDone.get('heartbeat')].filter((n) => n !== 1).length;
  console.log(`bus fuzz: ${forged.length} messages, ${handled} handled, ${crashes} crashes (seed ${SEED})`);
  const scan = scanLogs([lines], { tm_key: TM_KEY, key_a: KEYS[A]!, key_b: KEYS[B]!, root_password: ROOT_PASSWORD });
  t.deepEqual(scan.hits.slice(0, 5), []);
  t.true(scan.lines > 0);
  console.log(logScanLine(scan));
});
