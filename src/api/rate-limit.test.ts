import test from 'ava';
import { RateLimiter, type RateRule } from './rate-limit.js';
import { RateLimitedError } from '../common/errors.js';

const rules: RateRule[] = [
  { verb: 'GET', uri: '*', regex: '.*', value: 2, unit: 'MINUTE' },
  { verb: 'POST', uri: '*/mgmt', regex: '^/mgmt', value: 1, unit: 'MINUTE' },
];

test('a user over the per-minute rate gets overLimit with retryAfter; others are unaffected', (t) => {
  let now = 1_000_000;
  const rl = new RateLimiter(rules, 100, () => now);
  rl.hit('u1', 'GET', '/instances');
  rl.hit('u1', 'GET', '/instances');
  const err = t.throws(() => rl.hit('u1', 'GET', '/x'), { instanceOf: RateLimitedError });
  t.is(err?.httpStatus, 413);
  t.is(err?.extra.retryAfter, '60');
  t.notThrows(() => rl.hit('u2', 'GET', '/x'));
  now += 60_000;
  t.notThrows(() => rl.hit('u1', 'GET', '/x'));
});

test('view reports remaining per rule and only counts matching paths', (t) => {
  const now = Date.UTC(2026, 10, 25, 1, 2, 3);
  const rl = new RateLimiter(rules, 100, () => now);
  rl.hit('u', 'POST', '/instances');
  rl.hit('u', 'POST', '/mgmt/quotas/x');
  const v = rl.view('u');
  t.is(v[0]!.remaining, 2);
  t.is(v[1]!.remaining, 0);
  t.is(v[1]!.nextAvailable, '2026-11-25T01:03:03Z');
  t.is(v[0]!.nextAvailable, '2026-11-25T01:02:03Z');
});

test('the window table stays bounded', (t) => {
  const rl = new RateLimiter(rules, 3, () => 5);
  for (let i = 0; i < 10; i++) rl.hit(`u${i}`, 'GET', '/');
  t.true((rl as unknown as { windows: Map<string, unknown> }).windows.size <= 3);
});
