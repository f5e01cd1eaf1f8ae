// MetricsReport: the engine's query counter as a rate between reports, none after a restart (the counter went down), the volume added.
import test from 'ava';
import type { MetricsSample } from './capabilities.js';
import { MetricsReport } from './metrics-report.js';

const sample = (queries: number): MetricsSample => ({
  connections: 3,
  maxConnections: 100,
  queries,
  uptimeSeconds: 10,
  replicationLagSeconds: null,
  replicationLagBytes: null,
  figures: { hit_rate: 0.5, bad: Number.NaN },
});

test('a rate from the second report on; none when the counter went down; the volume when given', async (t) => {
  let q = 100;
  const r = new MetricsReport({ sample: async () => sample(q) });
  const first = await r.build(undefined, 1000);
  t.is(first!.queries_per_second, undefined);
  t.deepEqual(first!.figures, { hit_rate: 0.5 }, 'a figure that is not a number is left out');
  q = 400;
  const second = await r.build({ block_size: 1, total_blocks: 1, free_blocks: 0, total: 2, free: 1.5, used: 0.5 }, 3000);
  t.is(second!.queries_per_second, 150);
  t.is(second!.volume_used_gb, 0.5);
  t.is(second!.volume_total_gb, 2);
  q = 5;
  t.is((await r.build(undefined, 4000))!.queries_per_second, undefined, 'restarted');
});

test('no capability or an engine that cannot be read: no metrics', async (t) => {
  t.is(await new MetricsReport(undefined).build(undefined), undefined);
  t.is(await new MetricsReport({ sample: async () => Promise.reject(new Error('down')) }).build(undefined), undefined);
});
