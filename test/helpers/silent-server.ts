// A real TCP server that accepts connections and never answers (the case a client's own timeout
// must bound); closed with its sockets when the test ends.
import net, { type AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';

/** Its URL, and how many connections it has taken so far. */
export async function silentServer(t: ExecutionContext): Promise<{ url: string; connections: () => number }> {
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => void sockets.push(s));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  return { url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, connections: () => sockets.length };
}
