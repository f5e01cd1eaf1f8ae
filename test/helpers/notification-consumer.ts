// A Ceilometer-like consumer of oslo notifications on a test vhost: its own queue bound to
// `<topic>.<priority>` keys of the control exchange, each message unwrapped from the 2.0 envelope.
import amqp from 'amqplib';
import { amqpUrls } from '../../src/rpc/config.js';

export interface Notification {
  routingKey: string;
  envelope: Record<string, unknown>;
  message_id: string;
  publisher_id: string;
  event_type: string;
  priority: string;
  payload: Record<string, any>;
  timestamp: string;
  [k: string]: unknown;
}

export interface NotificationConsumer {
  received: Notification[];
  /** The first notification that matches, waiting for it up to `ms`. */
  next(match: (n: Notification) => boolean, ms?: number): Promise<Notification>;
  close(): Promise<void>;
}

export async function consumeNotifications(
  transportUrl: string,
  keys = ['notifications.info', 'notifications.error'],
  exchange = 'trove',
): Promise<NotificationConsumer> {
  const conn = await amqp.connect(amqpUrls(transportUrl)[0]!);
  const ch = await conn.createChannel();
  await ch.assertExchange(exchange, 'topic', { durable: false });
  const q = await ch.assertQueue('', { exclusive: true, autoDelete: true });
  for (const k of keys) await ch.bindQueue(q.queue, exchange, k);
  const received: Notification[] = [];
  await ch.consume(
    q.queue,
    (m) => {
      if (!m) return;
      const envelope = JSON.parse(m.content.toString()) as Record<string, unknown>;
      const inner = typeof envelope['oslo.message'] === 'string' ? (JSON.parse(envelope['oslo.message']) as Record<string, unknown>) : envelope;
      received.push({ ...(inner as unknown as Notification), routingKey: m.fields.routingKey, envelope });
    },
    { noAck: true },
  );
  return {
    received,
    async next(match, ms = 120_000) {
      for (const until = Date.now() + ms; Date.now() < until;) {
        const n = received.find(match);
        if (n) return n;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(
        `no such notification within ${ms / 1000} s; got: ${received.map((n) => `${n.event_type} ${JSON.stringify(n.payload).slice(0, 120)}`).join('\n')}`,
      );
    },
    async close() {
      await conn.close().catch(() => undefined);
    },
  };
}
