import test from 'ava';
import { alarmWarnings } from './alarms.js';

const t0 = { volume_used_percent: 80, connections_percent: 90, replication_lag_seconds: 60 };

test('each passed threshold is a warning with its value; below, none', (t) => {
  t.deepEqual(alarmWarnings({ volume_used_gb: 0.5, volume_total_gb: 1, connections: 10, max_connections: 100, replication_lag_seconds: null }, t0), []);
  const w = alarmWarnings({ volume_used_gb: 0.9, volume_total_gb: 1, connections: 95, max_connections: 100, replication_lag_seconds: 61 }, t0);
  t.deepEqual(
    w.map((x) => [x.alarm, x.value]),
    [
      ['volume_used_percent', 90],
      ['connections_percent', 95],
      ['replication_lag_seconds', 61],
    ],
  );
  t.regex(w[0]!.message, /90% used/);
});

test('figures that are missing pass nothing', (t) => {
  t.deepEqual(alarmWarnings({}, t0), []);
  t.deepEqual(alarmWarnings({ connections: 5, max_connections: 0 }, t0), []);
});
