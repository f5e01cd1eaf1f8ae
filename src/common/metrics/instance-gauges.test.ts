import test from 'ava';
import { Registry } from 'prom-client';
import { InstanceGauges } from './instance-gauges.js';
import type { EngineMetrics } from '../engine-metrics.js';

const sample = (connections: number): EngineMetrics =>
  ({
    connections,
    max_connections: 100,
    queries_per_second: 1,
    replication_lag_seconds: null,
    replication_lag_bytes: null,
    volume_used_gb: 0.1,
    volume_total_gb: 1,
    uptime_seconds: 5,
    figures: { innodb_row_lock_waits: 0 },
  }) as EngineMetrics;

test('an instance that stops reporting loses its series; one still reporting keeps them', async (t) => {
  const registry = new Registry();
  const gauges = new InstanceGauges(registry, 50);
  gauges.set('gone', 'p1', sample(3));
  gauges.set('alive', 'p1', sample(4));
  let text = await registry.metrics();
  t.true(text.includes('trove_instance_connections{instance_id="gone",project_id="p1"} 3'));
  await new Promise((r) => setTimeout(r, 120));
  gauges.set('alive', 'p1', sample(5));
  text = await registry.metrics();
  t.false(text.includes('instance_id="gone"'), text);
  t.true(text.includes('trove_instance_connections{instance_id="alive",project_id="p1"} 5'));
  t.true(text.includes('trove_instance_engine_figure{instance_id="alive",project_id="p1",figure="innodb_row_lock_waits"} 0'));
});
