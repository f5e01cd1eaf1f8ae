// The guest side of the all-in-one bus (transport_url = unix://user:password@/path/bus.sock): the
// Transport interface over the SocketBroker's frames, authenticating first on every connection,
// reconnecting and re-subscribing if the broker restarts.
import { connect, type Socket } from 'node:net';
import type { Logger } from '../../common/log.js';
import { StateSignal, type Consumer, type MessageHandler, type QueueOptions, type Transport, type TransportState } from '../transport.js';
import { frameReader, type Frame } from './socket-broker.js';
import { checkSocketPath } from '../../common/runtime-dir.js';

export interface SocketCredentials {
  user: string;
  password: string;
}

/** unix://[user:password@]/path → the socket's path and the credentials (percent-decoded). */
export function parseSocketUrl(url: string): { path: string; credentials?: SocketCredentials } {
  const m = /^unix:\/\/(?:([^:@/]*):([^@/]*)@)?(\/.+)$/.exec(url);
  if (!m) throw new Error('transport_url must be unix://[user:password@]/path');
  return m[1] === undefined ? { path: m[3]! } : { path: m[3]!, credentials: { user: decodeURIComponent(m[1]), password: decodeURIComponent(m[2]!) } };
}

/** The transport_url of a connection to the socket at `path` as `user`. */
export const socketUrl = (path: string, c: SocketCredentials): string => `unix://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@${path}`;

interface Pending {
  resolve(): void;
  reject(e: Error): void;
}

export class SocketTransport implements Transport {
  private socket?: Socket;
  private connecting?: Promise<Socket>;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<number, { queue: string; handler: MessageHandler }>();
  private readonly declared = new Map<string, Frame>();
  private closed = false;
  private readonly signal = new StateSignal('connecting');

  constructor(
    private readonly path: string,
    private readonly log: Logger,
    /** who this connection is on the bus (the broker refuses everything before it is told) */
    private readonly credentials?: SocketCredentials,
  ) {
    // a path the kernel would cut short connects nowhere (ENOENT): refuse it at start, saying why
    checkSocketPath(path, '[DEFAULT] transport_url');
  }

  get state(): TransportState {
    return this.signal.state;
  }

  onState(listener: (state: TransportState) => void): () => void {
    return this.signal.on(listener);
  }

  private async ready(): Promise<Socket> {
    if (this.closed) throw new Error('transport closed');
    if (this.socket) return this.socket;
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async connect(): Promise<Socket> {
    for (let attempt = 0; ; attempt++) {
      let sock: Socket | undefined;
      try {
        const s = await new Promise<Socket>((resolve, reject) => {
          const c = connect(this.path, () => resolve(c));
          c.once('error', reject);
        });
        sock = s;
        let up = false;
        s.on('error', () => undefined);
        s.on(
          'data',
          frameReader((f) => this.onFrame(f)),
        );
        s.on('close', () => {
          for (const p of this.pending.values()) p.reject(new Error('bus connection lost'));
          this.pending.clear();
          if (!up) return; // refused or lost while coming up: the loop below tries again
          this.socket = undefined;
          this.signal.set('disconnected');
          if (!this.closed) void this.ready().catch((err) => this.log.error({ err: (err as Error).message }, 'bus reconnect gave up'));
        });
        this.socket = s;
        if (this.credentials) {
          await this.request({ op: 'auth', user: this.credentials.user, password: this.credentials.password }).catch((err: Error) => {
            if (attempt === 0) this.log.warn({ user: this.credentials!.user, err: err.message }, 'the bus refused this connection');
            throw err;
          });
        }
        for (const d of this.declared.values()) await this.request(d);
        for (const [id, h] of this.handlers) await this.request({ op: 'consume', id, queue: h.queue });
        up = true;
        this.signal.set('connected');
        return s;
      } catch (err) {
        this.socket = undefined;
        sock?.destroy();
        if (this.closed || attempt > 120) throw err;
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** Math.min(attempt, 5))));
      }
    }
  }

  private onFrame(f: Frame): void {
    if (f.op === 'deliver') {
      const h = this.handlers.get(f.consumer!);
      if (h) void h.handler(Buffer.from(f.body!, 'base64')).catch(() => undefined);
      return;
    }
    const p = f.id !== undefined ? this.pending.get(f.id) : undefined;
    if (!p) return;
    this.pending.delete(f.id!);
    if (f.op === 'error') p.reject(new Error(f.message));
    else p.resolve();
  }

  private request(f: Frame): Promise<void> {
    const s = this.socket!;
    const id = f.id ?? this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      s.write(`${JSON.stringify({ ...f, id })}\n`);
    });
  }

  async declare(queue: string, routingKeys: string[], options: QueueOptions): Promise<void> {
    const f: Frame = { op: 'declare', queue, keys: routingKeys, durable: options.durable, exclusive: options.exclusive, exchange: options.fanout };
    this.declared.set(queue, f);
    await this.ready();
    await this.request(f);
  }

  async consume(queue: string, handler: MessageHandler): Promise<Consumer> {
    const id = this.nextId++;
    this.handlers.set(id, { queue, handler });
    await this.ready();
    await this.request({ op: 'consume', id, queue });
    return {
      cancel: async () => {
        this.handlers.delete(id);
        if (this.socket) await this.request({ op: 'cancel', consumer: id }).catch(() => undefined);
      },
    };
  }

  async publish(routingKey: string, body: Buffer, _persistent = false, expirationMs?: number): Promise<void> {
    await this.ready();
    await this.request({ op: 'publish', key: routingKey, body: body.toString('base64'), ttl: expirationMs });
  }

  async fanout(exchange: string, body: Buffer): Promise<void> {
    await this.ready();
    await this.request({ op: 'fanout', exchange, body: body.toString('base64') });
  }

  async send(queue: string, body: Buffer): Promise<void> {
    await this.ready();
    await this.request({ op: 'send', queue, body: body.toString('base64') });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.signal.set('closed');
    this.socket?.destroy();
  }
}
