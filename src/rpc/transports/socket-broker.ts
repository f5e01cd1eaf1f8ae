// The all-in-one bus: the in-process MemoryBroker served on a unix socket, so the guest agent
// processes of local instances reach the same queues as the services (newline-delimited JSON).
import { createServer, type Server, type Socket } from 'node:net';
import { existsSync, unlinkSync, chmodSync } from 'node:fs';
import type { Logger } from '../../common/log.js';
import { MemoryBroker, MemoryTransport } from './memory.js';
import type { Consumer } from '../transport.js';

export interface Frame {
  op: 'declare' | 'consume' | 'cancel' | 'publish' | 'fanout' | 'send' | 'deliver' | 'ok' | 'error';
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
}

export function frameReader(onFrame: (f: Frame) => void): (chunk: Buffer) => void {
  let buf = '';
  return (chunk) => {
    buf += chunk.toString('utf8');
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line) onFrame(JSON.parse(line) as Frame);
    }
  };
}

export class SocketBroker {
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly broker: MemoryBroker,
    private readonly path: string,
    private readonly log: Logger,
  ) {}

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
    this.sockets.add(socket);
    const view = new MemoryTransport(this.broker);
    const consumers = new Map<number, Consumer>();
    const write = (f: Frame) => socket.writable && socket.write(`${JSON.stringify(f)}\n`);
    socket.on(
      'data',
      frameReader((f) => {
        void (async () => {
          switch (f.op) {
            case 'declare':
              await view.declare(f.queue!, f.keys ?? [], { durable: Boolean(f.durable), exclusive: Boolean(f.exclusive), fanout: f.exchange });
              break;
            case 'consume':
              consumers.set(
                f.id!,
                await view.consume(f.queue!, async (body) => {
                  write({ op: 'deliver', consumer: f.id!, body: body.toString('base64') });
                }),
              );
              break;
            case 'cancel':
              await consumers.get(f.consumer!)?.cancel();
              consumers.delete(f.consumer!);
              break;
            case 'publish':
              await view.publish(f.key!, Buffer.from(f.body!, 'base64'), false, f.ttl);
              break;
            case 'fanout':
              await view.fanout(f.exchange!, Buffer.from(f.body!, 'base64'));
              break;
            case 'send':
              await view.send(f.queue!, Buffer.from(f.body!, 'base64'));
              break;
            default:
              throw new Error(`unknown op ${f.op}`);
          }
          if (f.id !== undefined) write({ op: 'ok', id: f.id });
        })().catch((err: Error) => write({ op: 'error', id: f.id, message: err.message }));
      }),
    );
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      for (const c of consumers.values()) void c.cancel();
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    if (existsSync(this.path)) unlinkSync(this.path);
    this.log.debug('bus closed');
  }
}
