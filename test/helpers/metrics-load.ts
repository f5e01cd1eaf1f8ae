// An engine's heartbeat metrics before and under a load the test makes: a sample at rest, then
// `clients` connections held open while they write, the reports until the writes show in the
// rate (PostgreSQL counts a session's commits when it flushes its statistics: at the latest when
// it ends). What the engine tests of the metrics assert on.
import type { EngineMetrics } from '../../src/common/engine-metrics.js';
import { until, type TestAgent } from './guest-agents.js';

export interface LoadClient {
  write(i: number): Promise<void>;
  close(): Promise<void>;
}

export interface LoadedMetrics {
  idle: EngineMetrics;
  /** the report made while the load's connections were open */
  open: EngineMetrics;
  /** the highest rate reported once the load was done */
  busiestQps: number;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function loadedMetrics(a: TestAgent, o: { clients: number; writes: number; connect: () => Promise<LoadClient> }): Promise<LoadedMetrics> {
  const latest = (): EngineMetrics => {
    const m = a.metrics.at(-1);
    if (!m) throw new Error('no heartbeat carried metrics');
    return m;
  };
  await a.reporter.report(); // the first sample: no rate yet
  await pause(1000);
  await a.reporter.report();
  const idle = latest();
  const clients = await Promise.all(Array.from({ length: o.clients }, () => o.connect()));
  let open: EngineMetrics;
  try {
    await Promise.all(
      clients.map(async (c, k) => {
        for (let i = k; i < o.writes; i += clients.length) await c.write(i);
      }),
    );
    await a.reporter.report();
    open = latest();
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }
  let busiestQps = open.queries_per_second ?? 0;
  const floor = (idle.queries_per_second ?? 0) + 10;
  await until(
    'the writes in the reported rate',
    async () => {
      if (busiestQps > floor) return true;
      await a.reporter.report();
      busiestQps = Math.max(busiestQps, latest().queries_per_second ?? 0);
      return busiestQps > floor;
    },
    20_000,
    300,
  );
  return { idle, open, busiestQps };
}
