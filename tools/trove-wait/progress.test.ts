import test from 'ava';
import { outcome, progressLine } from './progress.js';

test('a building instance prints its phase; ACTIVE+HEALTHY is ready with its address; ERROR shows the fault', (t) => {
  const build = { id: 'i', name: 'db1', status: 'BUILD', operating_status: '' };
  t.is(outcome(build), 'waiting');
  t.is(progressLine(build, 1234), '[  1.2s] db1 BUILD (building)');
  const half = { ...build, status: 'ACTIVE', operating_status: 'BUILD' };
  t.is(outcome(half), 'waiting');
  t.is(progressLine(half, 2000), '[  2.0s] db1 ACTIVE (waiting) guest BUILD');
  const ready = { ...build, status: 'ACTIVE', operating_status: 'HEALTHY', ip: ['127.0.3.2'] };
  t.is(outcome(ready), 'ready');
  t.is(progressLine(ready, 3100), '[  3.1s] db1 is ACTIVE guest HEALTHY at 127.0.3.2');
  const failed = { ...build, status: 'ERROR', fault: { message: 'the engine binary is missing' } };
  t.is(outcome(failed), 'failed');
  t.regex(progressLine(failed, 5000), /ERROR: the engine binary is missing/);
});
