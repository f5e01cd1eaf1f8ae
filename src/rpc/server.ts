// The serving side of the RPC protocol: consumes `<topic>`, `<topic>.<server>` and a private queue
// on `<topic>_fanout`; checks each message's version and arguments against the contract; answers
// calls with the result or a failure naming the exception's class (as oslo does). A bad message
// is a failure reply and a log line with the method and ids, never a crash or a logged argument.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../common/log.js';
import { contractVersion, versionCompatible, type Contract, type Handlers } from './contract.js';
import { plainSerializer, type RpcSerializer } from './encryption.js';
import { className, contextOf, failureOf, reply, unwrap, wrap } from './envelope.js';
import { durableTopic, serviceTopic } from './topics.js';
import { Redeliver, type Consumer, type Transport } from './transport.js';

export interface ServeOptions {
  /** Also serve `<topic>.<server>` (oslo's per-host queue). */
  server?: string;
  /** Decrypts arguments and context, encrypts results (Trove's secure serializers). */
  serializer?: RpcSerializer;
  /** Also receive fanout casts to the topic (default true). */
  fanout?: boolean;
  /** The version this server implements (default: the contract's newest `since`). */
  version?: string;
  /** Acknowledge after the handler finished (default for the taskmanager and conductor, whose
   * handlers are short and whose work must not be lost) or on receipt (default elsewhere: a
   * guest's prepare or backup may outlast the broker's consumer timeout). */
  ackAfterHandler?: boolean;
  /** A cast whose handler failed with such an error did not record its work and is put back on
   * the queue (Redeliver) instead of being acknowledged (e.g. the control database is down). */
  redeliverWhen?: (err: unknown) => boolean;
  /** Messages taken from the broker at once, unacknowledged (the transport's default when not given). */
  prefetch?: number;
}

/** An error with oslo's class name for the failure reply. */
function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

type AnyHandler = (args: unknown, ctx: { context: Record<string, unknown>; method: string }) => Promise<unknown>;

const SEEN_IDS = 1024;

export class RpcServer {
  private readonly consumers: Consumer[] = [];
  /** _unique_ids recently handled: a message redelivered after a lost ack runs once. */
  private readonly seen = new Set<string>();

  constructor(
    private readonly transport: Transport,
    private readonly log: Logger,
  ) {}

  /** Serves `topic` with the contract's handlers. `options` may be the server name (older form). */
  async serve<C extends Contract>(topic: string, contract: C, handlers: Handlers<C>, options: string | ServeOptions = {}): Promise<void> {
    const o: ServeOptions = typeof options === 'string' ? { server: options } : options;
    const durable = durableTopic(topic);
    const queues: Array<[string, string[], { durable: boolean; exclusive?: boolean; fanout?: string }]> = [[topic, [topic], { durable }]];
    if (o.server) queues.push([`${topic}.${o.server}`, [`${topic}.${o.server}`], { durable }]);
    if (o.fanout ?? true)
      queues.push([`${topic}_fanout_${randomBytes(16).toString('hex')}`, [], { durable: false, exclusive: true, fanout: `${topic}_fanout` }]);
    const ackOnReceipt = !(o.ackAfterHandler ?? serviceTopic(topic));
    const serving = {
      topic,
      contract,
      handlers: handlers as Record<string, AnyHandler>,
      serializer: o.serializer ?? plainSerializer,
      version: o.version ?? contractVersion(contract),
      // a message acknowledged on receipt cannot be put back
      redeliverWhen: ackOnReceipt ? () => false : (o.redeliverWhen ?? (() => false)),
    };
    for (const [queue, keys, options] of queues) {
      await this.transport.declare(queue, keys, options);
      this.consumers.push(
        await this.transport.consume(queue, (body) => this.dispatch(serving, body), {
          ackOnReceipt,
          ...(o.prefetch !== undefined ? { prefetch: o.prefetch } : {}),
        }),
      );
    }
    this.log.info({ topic, server: o.server, version: serving.version }, 'RPC server consuming');
  }

  private firstTime(uniqueId: unknown): boolean {
    if (typeof uniqueId !== 'string') return true;
    if (this.seen.has(uniqueId)) return false;
    this.seen.add(uniqueId);
    if (this.seen.size > SEEN_IDS) this.seen.delete(this.seen.values().next().value!);
    return true;
  }

  private async dispatch(
    s: {
      topic: string;
      contract: Contract;
      handlers: Record<string, AnyHandler>;
      serializer: RpcSerializer;
      version: string;
      redeliverWhen: (err: unknown) => boolean;
    },
    body: Buffer,
  ): Promise<void> {
    let message: Record<string, unknown>;
    try {
      message = unwrap(body);
    } catch {
      this.log.warn({ topic: s.topic }, 'dropped an RPC message that is not an oslo message');
      return;
    }
    if (!this.firstTime(message._unique_id)) {
      this.log.warn({ topic: s.topic, unique_id: message._unique_id }, 'dropped a duplicate RPC message');
      return;
    }
    const method = String(message.method);
    const msgId = typeof message._msg_id === 'string' ? message._msg_id : undefined;
    const replyQ = typeof message._reply_q === 'string' ? message._reply_q : undefined;
    const ids = { topic: s.topic, method, msg_id: msgId };
    const answer = async (result: unknown, failure: string | null) => {
      if (!replyQ || !msgId) return;
      await this.transport
        .send(replyQ, wrap(reply(msgId, result, failure)))
        .catch((err) => this.log.warn({ ...ids, err: (err as Error).message }, 'could not send an RPC reply'));
    };
    const refuse = async (err: Error) => {
      this.log.warn({ ...ids, type: err.name, err: err.message }, 'RPC message refused');
      await answer(null, failureOf(err));
    };

    const version = typeof message.version === 'string' ? message.version : '1.0';
    if (!versionCompatible(s.version, version)) {
      return refuse(named('UnsupportedVersion', `Endpoint does not support RPC version ${version}. Attempted method: ${method}`));
    }
    const verb = Object.hasOwn(s.contract, method) ? s.contract[method] : undefined;
    const handler = Object.hasOwn(s.handlers, method) ? s.handlers[method] : undefined;
    if (!verb || !handler) return refuse(named('NoSuchMethod', `Endpoint does not support RPC method ${method}`));

    let args: unknown;
    let context: Record<string, unknown>;
    try {
      context = await s.serializer.deserializeContext(contextOf(message));
      const raw = message.args && typeof message.args === 'object' ? (message.args as Record<string, unknown>) : {};
      const plain: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(raw)) plain[k] = await s.serializer.deserializeEntity(v);
      args = plain;
    } catch (err) {
      return refuse(named('InvalidRPCArguments', `${method}: the message could not be decrypted (${(err as Error).message})`));
    }
    const parsed = verb.args.safeParse(args);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return refuse(named('InvalidRPCArguments', `${method}: invalid argument ${issue.path.join('.') || '(args)'}: ${issue.message}`));
    }

    this.log.debug(ids, 'RPC dispatch');
    let result: unknown;
    try {
      result = await handler(parsed.data, { context, method });
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      if (!replyQ && s.redeliverWhen(e)) {
        // a cast whose work was not recorded: put back, and handled when it comes again
        if (typeof message._unique_id === 'string') this.seen.delete(message._unique_id);
        this.log.warn({ ...ids, type: className(e), err: e.message }, 'RPC cast not handled now; put back on its queue');
        throw new Redeliver(e);
      }
      this.log.warn({ ...ids, type: className(e), err: e.message }, 'RPC handler failed');
      return answer(null, failureOf(e));
    }
    await answer(s.serializer.serializeEntity(result ?? null), null);
  }

  /** Stops consuming; messages of durable queues wait for the next server. */
  async close(): Promise<void> {
    for (const c of this.consumers.splice(0)) await c.cancel();
  }
}
