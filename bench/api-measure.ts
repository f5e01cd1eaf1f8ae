// Measures one GET endpoint of a Trove v1 API: sequential latency (one keep-alive connection,
// p50/p99) and throughput under load (autocannon, N connections). For bench/api.ts.
import http from 'node:http';
import autocannon from 'autocannon';

export interface Target {
  /** http://host:port/v1.0/<project> */
  base: string;
  token: string;
}

export interface Endpoint {
  name: string;
  /** The path under the project, a fresh one per request (e.g. a different instance each time). */
  path: () => string;
}

export interface Figures {
  p50: number;
  p99: number;
  rps: number;
  /** Requests made in all (warm-up, sequential and under load). */
  total: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** One GET, its body read; rejects on anything but 200. */
export function get(target: Target, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${target.base}${path}`, { agent, headers: { 'X-Auth-Token': target.token, Accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`GET ${path}: ${res.statusCode} ${body.slice(0, 300)}`));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** `requests` GETs one after the other (after `warmup` unmeasured ones): p50 and p99 in ms. */
export async function sequential(target: Target, e: Endpoint, requests: number, warmup: number): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < warmup; i++) await get(target, e.path());
  const times: number[] = [];
  for (let i = 0; i < requests; i++) {
    const path = e.path();
    const t0 = process.hrtime.bigint();
    await get(target, path);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** autocannon with `connections` keep-alive connections for `seconds`: requests per second; any non-200 fails the run. */
export async function load(target: Target, e: Endpoint, connections: number, seconds: number): Promise<{ rps: number; total: number }> {
  const url = new URL(target.base);
  const result = await autocannon({
    url: url.origin,
    connections,
    duration: seconds,
    headers: { 'X-Auth-Token': target.token, Accept: 'application/json' },
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `${url.pathname}${e.path()}` }) }],
  });
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad > 0) throw new Error(`${e.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts under load`);
  return { rps: result.requests.total / (result.duration || seconds), total: result.requests.total };
}

export async function measure(target: Target, e: Endpoint, o: { requests: number; warmup: number; connections: number; seconds: number }): Promise<Figures> {
  const { p50, p99 } = await sequential(target, e, o.requests, o.warmup);
  const { rps, total } = await load(target, e, o.connections, o.seconds);
  return { p50, p99, rps, total: o.warmup + o.requests + total };
}
