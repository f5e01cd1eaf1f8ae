// The byte-moving layer under the RPC protocol: named queues bound to routing keys of one topic
// exchange and to fanout exchanges, direct sends to a queue (replies), consumers acknowledged
// when their handler settles, and the connection's state. It never parses a message.

export interface QueueOptions {
  /** Survives a broker restart, and so do its persistent messages. */
  durable: boolean;
  /** One consumer's private queue, deleted when that consumer or its connection goes (replies, fanout). */
  exclusive?: boolean;
  /** Also bound to this fanout exchange (oslo's `<topic>_fanout`). */
  fanout?: string;
  /** Also bound to a direct exchange of its own name, where oslo (Python) servers send replies. */
  replyExchange?: boolean;
  /** Declared now, not again after a reconnection: another process's queue (a guest's topic,
   * which goes with its instance and must stay gone). */
  once?: boolean;
}

export interface Consumer {
  cancel(): Promise<void>;
}

/** Called per message; the message is acknowledged when the promise settles (or on receipt),
 * except when it rejects with Redeliver: then it is put back on its queue for another try. */
export type MessageHandler = (body: Buffer) => Promise<void>;

/** A handler's answer for "not done, and not my fault" (its database is unreachable, say): the
 * message is put back on its queue after a pause (never acknowledged, never lost). */
export class Redeliver extends Error {
  constructor(readonly reason: Error) {
    super(`redelivered: ${reason.message}`);
    this.name = 'Redeliver';
  }
}

/** How long a message to be redelivered waits before it is put back (no busy loop while the
 * database is down); a transport may make it configurable. */
export const REDELIVERY_DELAY_MS = 1000;

export interface ConsumeOptions {
  /** Acknowledge before the handler runs (oslo's RPC servers do): a handler that runs for hours
   * is not redelivered when the broker's consumer timeout closes the channel; a crash loses it. */
  ackOnReceipt?: boolean;
  /** Unacknowledged messages this consumer holds at most (AMQP's per-consumer prefetch; the
   * transport's rabbit_qos_prefetch_count when not given, 0 = no limit). */
  prefetch?: number;
}

/** connecting → connected ⇄ disconnected (reconnecting) → closed. */
export type TransportState = 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface Transport {
  readonly state: TransportState;
  /** Why the last connection attempt failed (no credentials in it), while not connected; a health check shows it. */
  readonly lastConnectError?: string | undefined;
  /** Called on every state change; returns the unsubscribe function. */
  onState(listener: (state: TransportState) => void): () => void;
  /** Declares a queue and its bindings (idempotent); messages wait there for a consumer. */
  declare(queue: string, routingKeys: string[], options: QueueOptions): Promise<void>;
  /** Consumes a declared queue. Several consumers of one queue share its messages. */
  consume(queue: string, handler: MessageHandler, options?: ConsumeOptions): Promise<Consumer>;
  /** Publishes to the topic exchange, confirmed by the broker; unroutable messages are dropped.
   * A message still queued after expirationMs is dropped (a call whose caller gave up). */
  publish(routingKey: string, body: Buffer, persistent: boolean, expirationMs?: number): Promise<void>;
  /** Publishes to a fanout exchange: every queue bound to it gets a copy; none bound → dropped. */
  fanout(exchange: string, body: Buffer): Promise<void>;
  /** Sends straight to one queue (replies); a queue that is gone drops it. */
  send(queue: string, body: Buffer): Promise<void>;
  /** Stops consuming and disconnects; later operations fail. */
  close(): Promise<void>;
}

/** The state and its listeners, for Transport implementations. */
export class StateSignal {
  private current: TransportState;
  private readonly listeners = new Set<(state: TransportState) => void>();

  constructor(initial: TransportState) {
    this.current = initial;
  }

  get state(): TransportState {
    return this.current;
  }

  set(state: TransportState): void {
    if (state === this.current || this.current === 'closed') return;
    this.current = state;
    for (const l of [...this.listeners]) l(state);
  }

  on(listener: (state: TransportState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
