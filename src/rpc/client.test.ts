// The calling side's declarations: casts to a service topic declare its queue once, however many
// go at once, and a declaration that failed is made again by the next cast.
import test from 'ava';
import { Writable } from 'node:stream';
import { createLogger } from '../common/log.js';
import { RpcClient } from './client.js';
import { CONDUCTOR_TOPIC } from './topics.js';
import { MemoryTransport } from './transports/memory.js';
import type { QueueOptions } from './transport.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });

/** Counts declarations, each taking a moment (as a broker's round trip does); refuses the next one when told. */
class CountingTransport extends MemoryTransport {
  declared: string[] = [];
  refuseNext = false;

  override async declare(queue: string, routingKeys: string[], options: QueueOptions): Promise<void> {
    this.declared.push(queue);
    await new Promise((r) => setTimeout(r, 20));
    if (this.refuseNext) {
      this.refuseNext = false;
      throw new Error('declaration refused');
    }
    return super.declare(queue, routingKeys, options);
  }
}

test('fifty casts at once to the conductor declare its queue once, and all arrive', async (t) => {
  const transport = new CountingTransport();
  const client = new RpcClient(transport, log);
  await Promise.all(Array.from({ length: 50 }, (_, k) => client.cast(CONDUCTOR_TOPIC, 'heartbeat', { sent: k })));
  t.deepEqual(transport.declared, [CONDUCTOR_TOPIC]);
  const got: Buffer[] = [];
  await transport.consume(CONDUCTOR_TOPIC, async (body) => void got.push(body));
  await new Promise((r) => setTimeout(r, 50));
  t.is(got.length, 50);
});

test('a refused declaration fails the casts that waited for it; the next cast declares again', async (t) => {
  const transport = new CountingTransport();
  transport.refuseNext = true;
  const client = new RpcClient(transport, log);
  const first = await Promise.allSettled([client.cast(CONDUCTOR_TOPIC, 'heartbeat', {}), client.cast(CONDUCTOR_TOPIC, 'heartbeat', {})]);
  t.deepEqual(
    first.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  t.is(transport.declared.length, 1);
  await client.cast(CONDUCTOR_TOPIC, 'heartbeat', {});
  await client.cast(CONDUCTOR_TOPIC, 'heartbeat', {});
  t.deepEqual(transport.declared, [CONDUCTOR_TOPIC, CONDUCTOR_TOPIC]);
});
