import test from 'ava';
import { CronError, nextRun, validateCron } from './cron-schedule.js';

test('valid five-field expressions are normalized', (t) => {
  t.is(validateCron('  0   3 * * *  '), '0 3 * * *');
  t.is(validateCron('*/15 * * * MON-FRI'), '*/15 * * * MON-FRI');
  t.is(validateCron('0 2 * * THU'), '0 2 * * THU', 'a day name with an H in it is not the H token');
  t.is(validateCron('0 0 1 JAN,JUL *'), '0 0 1 JAN,JUL *');
});

test('the wrong field is named', (t) => {
  const cases: Array<[string, string]> = [
    ['61 * * * *', 'minute'],
    ['0 24 * * *', 'hour'],
    ['0 0 32 * *', 'day of month'],
    ['0 0 * 13 *', 'month'],
    ['0 0 * * 8', 'day of week'],
    ['x * * * *', 'minute'],
    ['* * * * H', 'day of week'],
    ['H/5 * * * *', 'minute'],
  ];
  for (const [expr, field] of cases) {
    const err = t.throws(() => validateCron(expr), { instanceOf: CronError }, expr);
    t.is(err?.field as string | undefined, field, expr);
    t.regex(err!.message, new RegExp(`cron ${field} field`), expr);
  }
});

test('not five fields: seconds and aliases are refused', (t) => {
  for (const expr of ['* * * * * *', '* * * *', '', '@daily']) {
    const err = t.throws(() => validateCron(expr), { instanceOf: CronError }, expr);
    t.regex(err!.message, /5 fields/);
    t.is(err?.field, undefined);
  }
});

test('an expression that never matches is refused', (t) => {
  t.throws(() => validateCron('0 0 31 2 *'), { instanceOf: CronError, message: /never matches/ });
});

test('next run is the first match strictly after the moment, in UTC', (t) => {
  t.is(nextRun('0 3 * * *', new Date('2026-01-01T02:59:59Z')).toISOString(), '2026-01-01T03:00:00.000Z');
  t.is(nextRun('0 3 * * *', new Date('2026-01-01T03:00:00Z')).toISOString(), '2026-01-02T03:00:00.000Z');
  t.is(nextRun('* * * * *', new Date('2026-01-01T10:00:30.500Z')).toISOString(), '2026-01-01T10:01:00.000Z');
  t.is(nextRun('30 1 * * 0', new Date('2026-01-01T00:00:00Z')).toISOString(), '2026-01-04T01:30:00.000Z', 'the first Sunday');
});
