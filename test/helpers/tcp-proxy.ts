// A TCP proxy on loopback in front of one of the machine's shared services (MariaDB, RabbitMQ),
// for tests that break the service without touching it: `cut` drops every connection and refuses
// new ones (a restart, a crash), `restore` accepts again; `stall` holds every byte both ways,
// closing nothing (a paused server, a frozen network), `release` delivers what was held.
import net from 'node:net';
import { freeTcpPort } from './ports.js';

export interface TcpProxy {
  /** the proxy's port on 127.0.0.1 */
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  stall(): void;
  release(): void;
  /** connections accepted since the proxy started */
  accepted(): number;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  /** bytes (or an end) held while stalled, in order */
  held: Array<{ to: net.Socket; data: Buffer | null }>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const port = await freeTcpPort();
  const pairs = new Set<Pair>();
  let server: net.Server | undefined;
  let stalled = false;
  let accepted = 0;

  const deliver = (to: net.Socket, data: Buffer | null) => {
    if (to.destroyed) return;
    if (data) to.write(data);
    else to.end();
  };
  const forward = (p: Pair, from: net.Socket, to: net.Socket) => {
    from.on('data', (d: Buffer) => (stalled ? p.held.push({ to, data: d }) : deliver(to, d)));
    from.on('end', () => (stalled ? p.held.push({ to, data: null }) : deliver(to, null)));
  };
  const accept = (client: net.Socket) => {
    accepted++;
    const p: Pair = { client, upstream: net.connect(target.port, target.host), held: [] };
    pairs.add(p);
    for (const s of [p.client, p.upstream]) {
      s.on('error', () => undefined);
      s.on('close', () => {
        // a side that goes away while bytes are held is passed on when they are
        if (stalled) p.held.push({ to: s === p.client ? p.upstream : p.client, data: null });
        else (s === p.client ? p.upstream : p.client).destroy();
        if (p.client.destroyed && p.upstream.destroyed) pairs.delete(p);
      });
    }
    forward(p, p.client, p.upstream);
    forward(p, p.upstream, p.client);
  };
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      if (server) return resolve();
      const s = net.createServer(accept);
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        server = s;
        resolve();
      });
    });
  const cut = () =>
    new Promise<void>((resolve) => {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      pairs.clear();
      if (!server) return resolve();
      server.close(() => resolve());
      server = undefined;
    });
  await listen();
  return {
    port,
    cut,
    restore: listen,
    stall: () => void (stalled = true),
    release: () => {
      stalled = false;
      for (const p of [...pairs]) {
        for (const h of p.held.splice(0)) deliver(h.to, h.data);
        if (p.client.destroyed || p.upstream.destroyed) {
          p.client.destroy();
          p.upstream.destroy();
          pairs.delete(p);
        }
      }
    },
    accepted: () => accepted,
    close: async () => {
      stalled = false;
      await cut();
    },
  };
}
