// In-process transport (all-in-one mode and unit tests) with the AMQP one's semantics: queues
// keep messages until a consumer comes, consumers of one queue share its messages round-robin,
// fanout exchanges copy to every bound queue, exclusive queues go with their consumer.
import {
  REDELIVERY_DELAY_MS,
  Redeliver,
  StateSignal,
  type Consumer,
  type MessageHandler,
  type QueueOptions,
  type Transport,
  type TransportState,
} from '../transport.js';

interface Waiting {
  body: Buffer;
  /** Date.now() after which the message is dropped */
  expires?: number;
}

interface Queue {
  keys: Set<string>;
  exclusive: boolean;
  waiting: Waiting[];
  consumers: MessageHandler[];
  next: number;
}

/** One broker per process, shared by every MemoryTransport made on it. */
export class MemoryBroker {
  readonly queues = new Map<string, Queue>();
  /** fanout exchange → the queues bound to it */
  readonly fanouts = new Map<string, Set<string>>();
  /** How long a message a handler could not take waits before it is delivered again. */
  redeliveryDelayMs = REDELIVERY_DELAY_MS;

  deliver(queue: string, body: Buffer, expires?: number): void {
    const q = this.queues.get(queue);
    if (!q || (expires !== undefined && Date.now() > expires)) return;
    if (q.consumers.length === 0) {
      q.waiting.push({ body, expires });
      return;
    }
    const handler = q.consumers[q.next++ % q.consumers.length]!;
    setImmediate(
      () =>
        void handler(body).catch((err: unknown) => {
          if (err instanceof Redeliver) setTimeout(() => this.deliver(queue, body, expires), this.redeliveryDelayMs);
        }),
    );
  }

  deleteQueue(queue: string): void {
    this.queues.delete(queue);
    for (const [name, bound] of this.fanouts) {
      bound.delete(queue);
      if (bound.size === 0) this.fanouts.delete(name);
    }
  }
}

export class MemoryTransport implements Transport {
  private readonly signal = new StateSignal('connected');
  private readonly consumers = new Set<Consumer>();

  constructor(readonly broker = new MemoryBroker()) {}

  get state(): TransportState {
    return this.signal.state;
  }

  onState(listener: (state: TransportState) => void): () => void {
    return this.signal.on(listener);
  }

  private open(): void {
    if (this.signal.state === 'closed') throw new Error('transport closed');
  }

  async declare(queue: string, routingKeys: string[], options: QueueOptions): Promise<void> {
    this.open();
    const q = this.broker.queues.get(queue) ?? { keys: new Set<string>(), exclusive: Boolean(options.exclusive), waiting: [], consumers: [], next: 0 };
    for (const k of routingKeys) q.keys.add(k);
    this.broker.queues.set(queue, q);
    if (options.fanout) {
      const bound = this.broker.fanouts.get(options.fanout) ?? new Set<string>();
      bound.add(queue);
      this.broker.fanouts.set(options.fanout, bound);
    }
  }

  async consume(queue: string, handler: MessageHandler): Promise<Consumer> {
    this.open();
    const q = this.broker.queues.get(queue);
    if (!q) throw new Error(`queue ${queue} is not declared`);
    q.consumers.push(handler);
    for (const w of q.waiting.splice(0)) this.broker.deliver(queue, w.body, w.expires);
    const consumer: Consumer = {
      cancel: async () => {
        this.consumers.delete(consumer);
        q.consumers = q.consumers.filter((h) => h !== handler);
        if (q.exclusive && q.consumers.length === 0) this.broker.deleteQueue(queue);
      },
    };
    this.consumers.add(consumer);
    return consumer;
  }

  async publish(routingKey: string, body: Buffer, _persistent = false, expirationMs?: number): Promise<void> {
    this.open();
    const expires = expirationMs === undefined ? undefined : Date.now() + expirationMs;
    for (const [name, q] of this.broker.queues) if (q.keys.has(routingKey)) this.broker.deliver(name, body, expires);
  }

  async fanout(exchange: string, body: Buffer): Promise<void> {
    this.open();
    for (const name of this.broker.fanouts.get(exchange) ?? []) this.broker.deliver(name, body);
  }

  async send(queue: string, body: Buffer): Promise<void> {
    this.open();
    this.broker.deliver(queue, body);
  }

  async close(): Promise<void> {
    for (const c of [...this.consumers]) await c.cancel();
    this.signal.set('closed');
  }
}
