// The all-in-one bus: the in-process MemoryBroker served on a unix socket, so the guest agent
// processes of local instances reach the same queues as the services (newline-delimited JSON).
// A connection's first frame authenticates it (socket-access.ts); until then, and beyond its
// grant afterwards, every operation is refused with a warning naming the user, the operation
// and the queue or key.
import { createServer, type Server, type Socket } from 'node:net';
import { existsSync, unlinkSync, chmodSync } from 'node:fs';
import type { Logger } from '../../common/log.js';
import { type MemoryBroker, MemoryTransport } from './memory.js';
import type { Consumer } from '../transport.js';
import type { BusAuthenticator, BusGrant } from './socket-access.js';

export interface Frame {
  op: 'auth' | 'declare' | 'consume' | 'cancel' | 'publish' | 'fanout' | 'send' | 'deliver' | 'ok' | 'error';
  id?: number;
  queue?: string;
  keys?: string[];
  durable?: boolean;
  exclusive?: boolean;
  key?: string;
  /** a published message's expiration (ms) */
  ttl?: number;
  /** the fanout exchange (publish, or the one a declared queue binds to) */
  exchange?: string;
  body?: string;
  consumer?: number;
  message?: string;
  /** auth: the connection's credentials (never logged) */
  user?: string;
  password?: string;
}

/** The refusal a client sees (RabbitMQ's word for it). */
class AccessRefused extends Error {}

/** Frames from a stream's chunks; a line that is not JSON goes to onBad (and is skipped). */
export function frameReader(onFrame: (f: Frame) => void, onBad: () => void = () => undefined): (chunk: Buffer) => void {
  let buf = '';
  return (chunk) => {
    buf += chunk.toString('utf8');
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line) continue;
      let f: unknown;
      try {
        f = JSON.parse(line);
      } catch {
        onBad();
        continue;
      }
      if (f && typeof f === 'object' && !Array.isArray(f)) onFrame(f as Frame);
      else onBad();
    }
  };
}

export class SocketBroker {
  private server?: Server;
  /** each open connection and, once it authenticated, its grant */
  private readonly sockets = new Map<Socket, BusGrant | undefined>();

  constructor(
    readonly broker: MemoryBroker,
    private readonly path: string,
    private readonly log: Logger,
    private readonly authenticator: BusAuthenticator,
  ) {}

  /** Closes every connection authenticated as `user` (a removed guest's). */
  disconnect(user: string): void {
    for (const [s, g] of this.sockets) if (g?.user === user) s.destroy();
  }

  async listen(): Promise<void> {
    if (existsSync(this.path)) unlinkSync(this.path);
    this.server = createServer((s) => this.serve(s));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.path, resolve);
    });
    chmodSync(this.path, 0o600);
  }

  private serve(socket: Socket): void {
    this.sockets.set(socket, undefined);
    const view = new MemoryTransport(this.broker);
    const consumers = new Map<number, Consumer>();
    let grant: BusGrant | undefined;
    const write = (f: Frame) => socket.writable && socket.write(`${JSON.stringify(f)}\n`);
    const check = (allowed: boolean, op: string, name: string | undefined) => {
      if (allowed) return;
      this.log.warn({ user: grant?.user, op, name }, grant ? 'bus operation refused: outside its grant' : 'bus operation refused: not authenticated');
      throw new AccessRefused(`ACCESS_REFUSED: ${grant ? `${grant.user} may not` : 'not authenticated: cannot'} ${op} ${name ?? ''}`.trimEnd());
    };
    const authenticate = async (f: Frame) => {
      if (grant) throw new AccessRefused('ACCESS_REFUSED: already authenticated');
      grant = await this.authenticator.authenticate(String(f.user ?? ''), String(f.password ?? ''));
      if (!grant) {
        this.log.warn({ user: f.user }, 'bus connection refused: unknown user or wrong password');
        write({ op: 'error', id: f.id, message: 'ACCESS_REFUSED: unknown user or wrong password' });
        socket.end();
        return false;
      }
      this.sockets.set(socket, grant);
      return true;
    };
    socket.on(
      'data',
      frameReader(
        (f) => {
          void (async () => {
            if (f.op === 'auth') {
              if (!(await authenticate(f))) return;
            } else {
              const g = grant;
              switch (f.op) {
                case 'declare':
                  check(Boolean(g?.mayDeclare(f.queue!, f.keys ?? [], f.exchange)), 'declare', f.queue);
                  await view.declare(f.queue!, f.keys ?? [], { durable: Boolean(f.durable), exclusive: Boolean(f.exclusive), fanout: f.exchange });
                  break;
                case 'consume':
                  check(Boolean(g?.mayConsume(f.queue!)), 'consume', f.queue);
                  consumers.set(
                    f.id!,
                    await view.consume(f.queue!, async (body) => {
                      g!.delivered?.(body);
                      write({ op: 'deliver', consumer: f.id!, body: body.toString('base64') });
                    }),
                  );
                  break;
                case 'cancel':
                  check(Boolean(g), 'cancel', undefined);
                  await consumers.get(f.consumer!)?.cancel();
                  consumers.delete(f.consumer!);
                  break;
                case 'publish':
                  check(Boolean(g?.mayPublish(f.key!)), 'publish', f.key);
                  await view.publish(f.key!, Buffer.from(f.body!, 'base64'), false, f.ttl);
                  break;
                case 'fanout':
                  check(Boolean(g?.mayFanout(f.exchange!)), 'fanout', f.exchange);
                  await view.fanout(f.exchange!, Buffer.from(f.body!, 'base64'));
                  break;
                case 'send':
                  check(Boolean(g?.maySend(f.queue!)), 'send', f.queue);
                  await view.send(f.queue!, Buffer.from(f.body!, 'base64'));
                  break;
                default:
                  check(false, String(f.op), undefined);
              }
            }
            if (f.id !== undefined) write({ op: 'ok', id: f.id });
          })().catch((err: Error) => write({ op: 'error', id: f.id, message: err.message }));
        },
        () => {
          this.log.warn({ user: grant?.user }, 'bus connection closed: a frame that is not JSON');
          socket.destroy();
        },
      ),
    );
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      for (const c of consumers.values()) void c.cancel();
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets.keys()) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    if (existsSync(this.path)) unlinkSync(this.path);
    this.log.debug('bus closed');
  }
}
