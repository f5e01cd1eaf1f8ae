// The calling side of the RPC protocol: casts, fanout casts, and calls answered on this client's
// reply queue (`reply_<hex>`), matched by _msg_id, bounded by a timeout. Logs methods and ids only.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../common/log.js';
import { versionCompatible, type CallOptions, type Contract, type Stub, type StubOptions } from './contract.js';
import { plainSerializer, type RpcSerializer } from './encryption.js';
import { newId, parseFailure, request, unwrap, wrap } from './envelope.js';
import { RemoteError, RpcTimeoutError, RpcVersionCapError } from './errors.js';
import { durableTopic, serviceTopic } from './topics.js';
import type { Consumer, Transport } from './transport.js';
import { rpcCallDuration, rpcCallTimeouts, topicLabel } from '../common/metrics/metrics.js';
import type { HealthCheck } from '../common/metrics/health.js';
import { busCheck } from './health.js';

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  serializer: RpcSerializer;
  /** a result that came before its `ending` message (oslo before 2.0 replied in two messages) */
  early?: { result: unknown };
}

export interface ClientDefaults {
  timeoutMs: number;
  context?: Record<string, unknown>;
  serializer?: RpcSerializer;
  /** Declare the services' topics before a cast to them (default true); a guest may not (its bus
   * user has no right to declare the conductor's queue) and only publishes. */
  declareServiceTopics?: boolean;
}

export interface SendOptions {
  version?: string;
  context?: Record<string, unknown>;
  serializer?: RpcSerializer;
}

export class RpcClient {
  private readonly pending = new Map<string, Pending>();
  private replyQueue?: Promise<string>;
  private replyConsumer?: Consumer;
  /** Set by close(): a call still setting up then (its reply queue being declared) ends there, never sent. */
  private closed = false;
  private readonly defaults: ClientDefaults;
  /** The service topics declared (or being declared) by this client: concurrent casts to a topic
   * not declared yet wait for one declaration instead of each making its own. */
  private readonly prepared = new Map<string, Promise<void>>();

  constructor(
    /** the bus it calls over (the API's notifier publishes on it too) */
    readonly transport: Transport,
    private readonly log: Logger,
    defaults: Partial<ClientDefaults> = {},
  ) {
    this.defaults = { timeoutMs: 60_000, ...defaults };
  }

  private ensureReplyQueue(): Promise<string> {
    this.replyQueue ??= (async () => {
      const name = `reply_${randomBytes(16).toString('hex')}`;
      await this.transport.declare(name, [], { durable: false, exclusive: true, replyExchange: true });
      const consumer = await this.transport.consume(name, (body) => this.onReply(body));
      if (this.closed) {
        await consumer.cancel(); // closed while this was being set up: nothing may consume for it
        throw new Error('RPC client closed');
      }
      this.replyConsumer = consumer;
      return name;
    })().catch((err: unknown) => {
      this.replyQueue = undefined; // the next call tries again
      throw err;
    });
    return this.replyQueue;
  }

  private async onReply(body: Buffer): Promise<void> {
    let reply: Record<string, unknown>;
    try {
      reply = unwrap(body);
    } catch {
      this.log.warn('dropped an RPC reply that is not an oslo message');
      return;
    }
    const msgId = String(reply._msg_id);
    const p = this.pending.get(msgId);
    if (!p) return; // the caller gave up: drop the late reply
    if (reply.failure) {
      this.settle(msgId, p);
      p.reject(RemoteError.fromFailure(parseFailure(reply.failure)));
      return;
    }
    if (!('ending' in reply)) {
      p.early = { result: reply.result };
      return;
    }
    this.settle(msgId, p);
    try {
      p.resolve(await p.serializer.deserializeEntity(p.early ? p.early.result : reply.result));
    } catch (err) {
      p.reject(err as Error);
    }
  }

  private settle(msgId: string, p: Pending): void {
    clearTimeout(p.timer);
    this.pending.delete(msgId);
  }

  private encode(method: string, args: Record<string, unknown>, o: SendOptions) {
    const s = o.serializer ?? this.defaults.serializer ?? plainSerializer;
    const wireArgs = Object.fromEntries(Object.entries(args).map(([k, v]) => [k, s.serializeEntity(v)]));
    const context = s.serializeContext(o.context ?? this.defaults.context ?? {});
    return { s, wireArgs, context, version: o.version ?? '1.0' };
  }

  /** Declares a topic's queue so casts wait there until its server starts (a guest before prepare). */
  async prepareTopic(topic: string): Promise<void> {
    // a guest's topic is its instance's, and goes with it: not re-declared after a reconnection
    const declared = this.transport.declare(topic, [topic], { durable: durableTopic(topic), once: !serviceTopic(topic) });
    this.prepared.set(
      topic,
      declared.catch((err: unknown) => {
        this.prepared.delete(topic); // the next cast tries again
        throw err;
      }),
    );
    await this.prepared.get(topic);
  }

  /** Sends and returns once the broker has the message; nobody answers. */
  async cast(topic: string, method: string, args: Record<string, unknown>, options: SendOptions = {}): Promise<void> {
    const e = this.encode(method, args, options);
    const message = request(method, e.wireArgs, e.version, e.context);
    this.log.debug({ topic, method, unique_id: message._unique_id }, 'RPC cast');
    if (serviceTopic(topic) && this.defaults.declareServiceTopics !== false) await (this.prepared.get(topic) ?? this.prepareTopic(topic));
    await this.transport.publish(topic, wrap(message), true);
  }

  /** A cast to every server of the topic. */
  async fanoutCast(topic: string, method: string, args: Record<string, unknown>, options: SendOptions = {}): Promise<void> {
    const e = this.encode(method, args, options);
    const message = request(method, e.wireArgs, e.version, e.context);
    this.log.debug({ topic, method, unique_id: message._unique_id }, 'RPC fanout cast');
    await this.transport.fanout(`${topic}_fanout`, wrap(message));
  }

  /** The bus as a health check backend: the broker confirms a message nobody receives. */
  healthCheck(): HealthCheck {
    return busCheck(this.transport);
  }

  /** Sends and waits for the answer: the result, RemoteError, or RpcTimeoutError; its latency and outcome are measured. */
  async call(topic: string, method: string, args: Record<string, unknown>, options: SendOptions & { timeoutMs?: number } = {}): Promise<unknown> {
    const labels = { topic: topicLabel(topic), method };
    const end = rpcCallDuration.startTimer(labels);
    try {
      const result = await this.roundTrip(topic, method, args, options);
      end({ outcome: 'ok' });
      return result;
    } catch (err) {
      const timedOut = err instanceof RpcTimeoutError;
      if (timedOut) rpcCallTimeouts.inc(labels);
      end({ outcome: timedOut ? 'timeout' : 'error' });
      throw err;
    }
  }

  private async roundTrip(topic: string, method: string, args: Record<string, unknown>, options: SendOptions & { timeoutMs?: number } = {}): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.defaults.timeoutMs;
    if (this.closed) throw new Error('RPC client closed');
    const replyQ = await this.ensureReplyQueue();
    if (this.closed) throw new Error('RPC client closed');
    const e = this.encode(method, args, options);
    const msgId = newId();
    const message = request(method, e.wireArgs, e.version, e.context, { msgId, replyQ, timeoutMs });
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(msgId);
        this.log.warn({ topic, method, msg_id: msgId, timeout_ms: timeoutMs }, 'RPC call timed out');
        reject(new RpcTimeoutError(topic, method, timeoutMs));
      }, timeoutMs);
      this.pending.set(msgId, { resolve, reject, timer, serializer: e.s });
    });
    this.log.debug({ topic, method, msg_id: msgId }, 'RPC call');
    try {
      // a call still queued when its caller has given up is dropped by the broker (as oslo does)
      await this.transport.publish(topic, wrap(message), false, timeoutMs);
    } catch (err) {
      const p = this.pending.get(msgId);
      if (p) this.settle(msgId, p);
      throw err;
    }
    return result;
  }

  /** A typed stub for one topic: `stub.restart()` calls or casts as the contract says, checking
   * the arguments before they leave and the result when it comes back. */
  stub<C extends Contract>(contract: C, topic: string, stubOptions: StubOptions = {}): Stub<C> {
    const out: Record<string, unknown> = {};
    for (const [method, verb] of Object.entries(contract)) {
      out[method] = async (args: Record<string, unknown> = {}, options: CallOptions = {}) => {
        const parsed = verb.args.parse(args) as Record<string, unknown>;
        const cap = await stubOptions.versionCap?.();
        if (cap && !versionCompatible(cap.version, verb.since)) throw new RpcVersionCapError(topic, method, verb.since, cap);
        const target = options.server ? `${topic}.${options.server}` : topic;
        const send: SendOptions = { version: verb.since, serializer: stubOptions.serializer, context: options.context ?? stubOptions.context };
        if (verb.kind === 'cast') {
          if (options.fanout) return this.fanoutCast(topic, method, parsed, send);
          return this.cast(target, method, parsed, send);
        }
        const result = await this.call(target, method, parsed, { ...send, timeoutMs: options.timeoutMs });
        return verb.result.parse(result);
      };
    }
    return out as Stub<C>;
  }

  /** Fails the calls still waiting and removes the reply queue. */
  async close(): Promise<void> {
    this.closed = true;
    for (const [id, p] of this.pending) {
      this.settle(id, p);
      p.reject(new Error('RPC client closed'));
    }
    await this.replyConsumer?.cancel();
    this.replyConsumer = undefined;
    this.replyQueue = undefined;
  }
}
