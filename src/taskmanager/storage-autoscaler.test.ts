import test from 'ava';
import { grownSize } from './storage-autoscaler.js';

test('grownSize: by the increment, at least 1 GB, at most the limit', (t) => {
  t.is(grownSize(10, 25, 100), 13);
  t.is(grownSize(1, 25, 100), 2, 'at least 1 GB');
  t.is(grownSize(2, 100, 3), 3, 'capped at max_volume_size');
});
