// Items that arrive while a run is going are done together in the next run; a run's failure is its group's.
import test from 'ava';
import { grouped } from './grouped.js';

const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));

test('the first item runs alone, the ones that came meanwhile run together, each gets its own result', async (t) => {
  const runs: number[][] = [];
  const double = grouped(async (xs: number[]) => {
    runs.push(xs);
    await tick();
    return xs.map((x) => x * 2);
  });
  const results = await Promise.all([1, 2, 3, 4, 5].map(double));
  t.deepEqual(results, [2, 4, 6, 8, 10]);
  t.deepEqual(runs, [[1], [2, 3, 4, 5]]);
});

test('no more than `parallel` runs at once, no more than `size` items in one', async (t) => {
  let running = 0;
  let most = 0;
  const sizes: number[] = [];
  const echo = grouped(
    async (xs: number[]) => {
      running++;
      most = Math.max(most, running);
      sizes.push(xs.length);
      await tick();
      running--;
      return xs;
    },
    { parallel: 2, size: 3 },
  );
  const items = Array.from({ length: 20 }, (_, i) => i);
  t.deepEqual(await Promise.all(items.map(echo)), items);
  t.is(most, 2);
  t.true(sizes.every((n) => n <= 3));
  t.is(
    sizes.reduce((a, b) => a + b, 0),
    20,
  );
});

test('a run that throws rejects its own group only', async (t) => {
  const failing = grouped(async (xs: number[]) => {
    await tick();
    if (xs.includes(3)) throw new Error('bad group');
    return xs;
  });
  const results = await Promise.allSettled([1, 2, 3].map(failing));
  t.is(results[0]!.status, 'fulfilled');
  t.deepEqual(
    results.slice(1).map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'fulfilled')),
    ['bad group', 'bad group'],
  );
  t.is(await failing(7), 7);
});
