// AMQP 0-9-1 transport (amqplib) with oslo.messaging's rabbit layout: one topic exchange
// (control_exchange), fanout exchanges `<topic>_fanout`, publisher confirms, manual acks (after the
// handler or on receipt; a handler's Redeliver puts the message back after a pause), and a
// reconnect loop (exponential backoff over every broker URL, until closed or idle) that re-declares
// every queue (but those declared `once`) and consumer this transport had. Replies go through the
// default exchange, or, for a guest (its own bus user is refused the default exchange), through the
// reply queue's direct exchange.
import amqp, { type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import { redactUrl, type Logger } from '../../common/log.js';
import { TransportUnavailableError } from '../errors.js';
import {
  REDELIVERY_DELAY_MS,
  Redeliver,
  StateSignal,
  type ConsumeOptions,
  type Consumer,
  type MessageHandler,
  type QueueOptions,
  type Transport,
  type TransportState,
} from '../transport.js';

interface Declared {
  queue: string;
  keys: string[];
  options: QueueOptions;
}

interface Subscription {
  queue: string;
  handler: MessageHandler;
  options: ConsumeOptions;
  tag?: string;
  cancelled: boolean;
}

export interface AmqpOptions {
  /** amqp:// or amqps:// URLs, tried in turn. */
  urls: string[];
  exchange: string;
  log: Logger;
  /** AMQP heartbeat interval (s); 0 turns heartbeats off. */
  heartbeatSeconds?: number;
  prefetch?: number;
  /** First reconnect delay, its exponential growth step, and the cap (ms). */
  retryIntervalMs?: number;
  retryBackoffMs?: number;
  retryMaxMs?: number;
  /** An operation waits this long for a connection before it fails. */
  connectTimeoutMs?: number;
  /** How long a message a handler could not take (Redeliver) waits before it is put back (ms). */
  redeliveryDelayMs?: number;
  /** Answer calls through each reply queue's direct exchange from the start (a guest: its own bus
   * user may not publish to the default exchange, and a refused publish closes the channel). */
  repliesViaExchange?: boolean;
  /** TLS options for amqps:// (e.g. the CA). */
  socketOptions?: Record<string, unknown>;
  /** Called when a broker refuses the login (wrong user or password) before this transport was
   * ever connected: a guest agent gives up with the reason instead of retrying for ever. */
  onLoginRefused?: (reason: string) => void;
}

/** How long one connection attempt may take, TCP connect and AMQP handshake together. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** The broker refused the operation itself (access, not found, different declare arguments):
 * trying again cannot help. */
/** A broker's answer to a wrong user or password (amqplib: "Handshake terminated by server: 403 (ACCESS-REFUSED) ..."). */
export const loginRefused = (err: unknown): boolean => /\b403\b.*ACCESS.REFUSED/.test((err as Error)?.message ?? '');

const refused = (err: unknown): boolean => [403, 404, 406].includes((err as { code?: number }).code ?? 0);

/** A publish the broker neither confirmed nor refused in time. */
class UnconfirmedError extends TransportUnavailableError {}

// oslo's declare arguments for fanout and reply exchanges, so Python services on the same broker agree.
const PRIVATE_EXCHANGE: Options.AssertExchange = { durable: false, autoDelete: true };

export class AmqpTransport implements Transport {
  private conn?: ChannelModel;
  private channel?: ConfirmChannel;
  private connecting?: Promise<void>;
  private everConnected = false;
  private readonly waiters = new Set<(ch?: ConfirmChannel) => void>();
  private readonly declared = new Map<string, Declared>();
  private readonly subscriptions = new Set<Subscription>();
  private readonly signal = new StateSignal('connecting');
  /** wakes the reconnect loop's sleep */
  private sleeping?: () => void;
  private urlIndex = 0;
  private readonly repliesViaExchange: boolean;
  private lastError?: string;

  constructor(private readonly o: AmqpOptions) {
    this.repliesViaExchange = o.repliesViaExchange ?? false;
  }

  private closed = (): boolean => this.signal.state === 'closed';

  get state(): TransportState {
    return this.signal.state;
  }

  get lastConnectError(): string | undefined {
    return this.channel ? undefined : this.lastError;
  }

  onState(listener: (state: TransportState) => void): () => void {
    return this.signal.on(listener);
  }

  private get connectTimeoutMs(): number {
    return this.o.connectTimeoutMs ?? 60_000;
  }

  /** The live channel, waiting for a (re)connection until `deadline` (epoch ms). */
  private ready(deadline: number): Promise<ConfirmChannel> {
    if (this.closed()) return Promise.reject(new Error('transport closed'));
    if (this.channel) return Promise.resolve(this.channel);
    this.startConnecting();
    const waitMs = this.connectTimeoutMs;
    return new Promise<ConfirmChannel>((resolve, reject) => {
      const done = (ch?: ConfirmChannel) => {
        clearTimeout(timer);
        this.waiters.delete(done);
        if (ch) resolve(ch);
        else reject(new Error('transport closed'));
      };
      const timer = setTimeout(
        () => {
          this.waiters.delete(done);
          reject(new TransportUnavailableError(`no AMQP broker reachable within ${Math.round(waitMs / 1000)} s`));
        },
        Math.max(0, deadline - Date.now()),
      );
      this.waiters.add(done);
    });
  }

  /** No consumer to restore and no operation waiting. */
  private idle = (): boolean => this.subscriptions.size === 0 && this.waiters.size === 0;

  private startConnecting(): void {
    this.connecting ??= this.connectLoop().finally(() => (this.connecting = undefined));
  }

  private delay(attempt: number): number {
    const first = this.o.retryIntervalMs ?? 1000;
    const step = this.o.retryBackoffMs ?? 2000;
    return Math.min(this.o.retryMaxMs ?? 30_000, first + step * (2 ** Math.min(attempt, 20) - 1));
  }

  private async connectLoop(): Promise<void> {
    for (let attempt = 0; !this.closed(); attempt++) {
      const url = this.o.urls[this.urlIndex % this.o.urls.length]!;
      try {
        await this.open(url);
        for (const w of [...this.waiters]) w(this.channel);
        return;
      } catch (err) {
        this.urlIndex += 1;
        this.lastError = `${redactUrl(url)}: ${(err as Error).message}`;
        if (!this.everConnected && loginRefused(err)) this.o.onLoginRefused?.(`the broker at ${redactUrl(url)} refused the login: ${(err as Error).message}`);
        if (this.closed() || this.idle()) return; // nobody needs it now: the next operation reconnects
        const wait = this.delay(attempt);
        this.o.log.warn({ url: redactUrl(url), attempt: attempt + 1, wait_ms: wait, err: (err as Error).message }, 'AMQP connection failed; retrying');
        await new Promise<void>((wake) => {
          const timer = setTimeout(wake, wait);
          this.sleeping = () => (clearTimeout(timer), wake());
        });
        this.sleeping = undefined;
      }
    }
  }

  private async open(url: string): Promise<void> {
    const u = new URL(url);
    if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(this.o.heartbeatSeconds ?? 30));
    // a broker that accepts the TCP connection but never finishes the AMQP handshake fails this
    // attempt (and the loop retries) instead of holding every operation waiting for it
    const conn = await amqp.connect(u.toString(), { timeout: HANDSHAKE_TIMEOUT_MS, ...this.o.socketOptions });
    conn.on('error', () => undefined); // 'close' follows and drives the reconnect
    // a broker in a memory or disk alarm holds every publish (no confirm) until it is over
    conn.on('blocked', (reason: string) => this.o.log.warn({ url: redactUrl(url), reason }, 'AMQP broker blocked publishing'));
    conn.on('unblocked', () => this.o.log.info({ url: redactUrl(url) }, 'AMQP broker unblocked publishing'));
    try {
      const ch = await conn.createConfirmChannel();
      ch.on('error', () => undefined);
      await ch.prefetch(this.o.prefetch ?? 16);
      await this.ensureExchange(conn, ch);
      for (const d of this.declared.values()) await this.assert(ch, d);
      for (const s of this.subscriptions) await this.subscribe(ch, s);
      if (this.closed()) throw new Error('transport closed');
      conn.on('close', () => this.lost(conn));
      // A channel error (e.g. a refused declare) leaves the connection up: start over on a new one.
      ch.on('close', () => this.channel === ch && void conn.close().catch(() => undefined));
      this.conn = conn;
      this.channel = ch;
      this.everConnected = true;
      this.signal.set('connected');
      this.o.log.info({ url: redactUrl(url) }, 'AMQP connected');
    } catch (err) {
      await conn.close().catch(() => undefined);
      throw err;
    }
  }

  /** The control exchange, declared only when missing: a guest has no configure right on it. */
  private async ensureExchange(conn: ChannelModel, ch: ConfirmChannel): Promise<void> {
    const probe = await conn.createChannel();
    probe.on('error', () => undefined);
    const exists = await probe.checkExchange(this.o.exchange).then(
      () => true,
      () => false,
    );
    if (exists) await probe.close().catch(() => undefined);
    else await ch.assertExchange(this.o.exchange, 'topic', { durable: false });
  }

  private lost(conn: ChannelModel): void {
    if (this.conn !== conn) return;
    this.channel = undefined;
    this.conn = undefined;
    if (this.closed()) return;
    this.signal.set('disconnected');
    if (this.idle()) {
      // a publisher only (the API): reconnect on the next publish, and let an idle process exit
      this.o.log.warn('AMQP connection lost; reconnecting when next used');
      return;
    }
    this.o.log.warn('AMQP connection lost; reconnecting');
    this.startConnecting();
  }

  private async assert(ch: ConfirmChannel, d: Declared): Promise<void> {
    const { durable, exclusive, fanout, replyExchange } = d.options;
    await ch.assertQueue(d.queue, { durable, exclusive: Boolean(exclusive), autoDelete: Boolean(exclusive) });
    for (const k of d.keys) await ch.bindQueue(d.queue, this.o.exchange, k);
    if (fanout) {
      await ch.assertExchange(fanout, 'fanout', PRIVATE_EXCHANGE);
      await ch.bindQueue(d.queue, fanout, '');
    }
    if (replyExchange) {
      await ch.assertExchange(d.queue, 'direct', PRIVATE_EXCHANGE);
      await ch.bindQueue(d.queue, d.queue, d.queue);
    }
  }

  private async subscribe(ch: ConfirmChannel, s: Subscription): Promise<void> {
    // a prefetch of its own: set for the consumer made next, then back to the channel's default
    const prefetch = s.options.prefetch;
    if (prefetch !== undefined) await ch.prefetch(prefetch);
    const r = await ch.consume(s.queue, (msg) => {
      if (!msg) {
        // The broker cancelled us (the queue was deleted): reconnect, which re-declares it.
        if (!s.cancelled) void this.conn?.close().catch(() => undefined);
        return;
      }
      let acked = false;
      const ack = () => {
        if (acked) return;
        acked = true;
        try {
          ch.ack(msg);
        } catch {
          /* the channel closed meanwhile: the broker redelivers */
        }
      };
      if (s.options.ackOnReceipt) ack();
      void s.handler(msg.content).then(ack, (err: unknown) => {
        if (acked || !(err instanceof Redeliver)) return ack();
        // not done (its database is unreachable, say): back on the queue after a pause, for this
        // or another consumer; a channel that closes meanwhile has the broker redeliver it anyway
        acked = true;
        const timer = setTimeout(() => {
          try {
            ch.nack(msg, false, true);
          } catch {
            /* the channel closed meanwhile: the broker redelivers */
          }
        }, this.o.redeliveryDelayMs ?? REDELIVERY_DELAY_MS);
        timer.unref();
      });
    });
    s.tag = r.consumerTag;
    if (prefetch !== undefined) await ch.prefetch(this.o.prefetch ?? 16);
  }

  async declare(queue: string, routingKeys: string[], options: QueueOptions): Promise<void> {
    const d = { queue, keys: routingKeys, options };
    if (options.once) return this.onChannel((ch) => this.assert(ch, d));
    this.declared.set(queue, d);
    await this.onChannel((ch) => this.assert(ch, d)).catch((err: unknown) => {
      if (refused(err)) this.declared.delete(queue); // or every reconnection would fail on it
      throw err;
    });
  }

  async consume(queue: string, handler: MessageHandler, options: ConsumeOptions = {}): Promise<Consumer> {
    const s: Subscription = { queue, handler, options, cancelled: false };
    this.subscriptions.add(s);
    await this.onChannel(async (ch) => {
      if (!s.tag) await this.subscribe(ch, s); // else a reconnection meanwhile subscribed it
    }).catch((err: unknown) => {
      this.subscriptions.delete(s);
      throw err;
    });
    return {
      cancel: async () => {
        s.cancelled = true;
        this.subscriptions.delete(s);
        if (this.channel && s.tag) await this.channel.cancel(s.tag).catch(() => undefined);
        if (this.declared.get(queue)?.options.exclusive) {
          this.declared.delete(queue);
          await this.channel?.deleteQueue(queue).catch(() => undefined);
        }
      },
    };
  }

  /** Runs an operation on the live channel; one cut by a lost connection runs again on the next
   * (declares are idempotent; a re-sent message is dropped as a duplicate by its server). The
   * whole operation, every attempt, waits at most connectTimeoutMs for connections. */
  private async onChannel<T>(op: (ch: ConfirmChannel) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.connectTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      const ch = await this.ready(deadline);
      try {
        return await op(ch);
      } catch (err) {
        if (refused(err) || attempt >= 3 || this.closed() || (err as Error).message === 'message nacked' || err instanceof UnconfirmedError) throw err;
        if (this.channel === ch) {
          // the channel is dead (its close event may not have arrived yet): start over
          this.channel = undefined;
          void this.conn?.close().catch(() => undefined);
        }
      }
    }
  }

  /** Publishes and waits for the broker's confirm, at most connectTimeoutMs: a broker that holds
   * publishes (an alarm) or a connection that died without a close fails the publish instead of
   * holding its caller forever. Not sent again then: the broker may have taken it. */
  private confirmed(publish: (ch: ConfirmChannel, done: (err: unknown) => void) => Promise<void> | void): Promise<void> {
    const waitMs = this.connectTimeoutMs;
    return this.onChannel(
      (ch) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new UnconfirmedError(`no confirm from the AMQP broker within ${Math.round(waitMs / 1000)} s`)), waitMs);
          const settle = (err: unknown) => {
            clearTimeout(timer);
            if (err) reject(err);
            else resolve();
          };
          Promise.resolve()
            .then(() => publish(ch, settle))
            .catch(settle);
        }),
    );
  }

  async publish(routingKey: string, body: Buffer, persistent: boolean, expirationMs?: number): Promise<void> {
    const expiration = expirationMs === undefined ? undefined : String(Math.max(1, Math.round(expirationMs)));
    await this.confirmed((ch, done) => {
      ch.publish(this.o.exchange, routingKey, body, { persistent, expiration, contentType: 'application/json' }, done);
    });
  }

  async fanout(exchange: string, body: Buffer): Promise<void> {
    // declared each time, as oslo does: an auto-delete exchange goes with its last queue
    await this.confirmed(async (ch, done) => {
      await ch.assertExchange(exchange, 'fanout', PRIVATE_EXCHANGE);
      ch.publish(exchange, '', body, { contentType: 'application/json' }, done);
    });
  }

  async send(queue: string, body: Buffer): Promise<void> {
    if (!this.repliesViaExchange) {
      // the default exchange (oslo's callers bind their reply queues nowhere else): a reply queue
      // that is gone drops the message without a channel error
      return this.confirmed((ch, done) => {
        ch.sendToQueue(queue, body, { contentType: 'application/json' }, done);
      });
    }
    // a guest: its own bus user may not publish to the default exchange (it would reach any queue
    // by name); our callers bind each reply queue to a direct exchange of the same name
    await this.confirmed((ch, done) => {
      ch.publish(queue, queue, body, { contentType: 'application/json' }, done);
    });
  }

  async close(): Promise<void> {
    this.signal.set('closed');
    this.sleeping?.();
    for (const w of [...this.waiters]) w(undefined);
    const [conn, ch] = [this.conn, this.channel];
    this.conn = undefined;
    this.channel = undefined;
    await ch?.close().catch(() => undefined); // flushes its acks first: channels' frames are not ordered with the connection's
    await conn?.close().catch(() => undefined);
  }
}
