import test from 'ava';
import fc from 'fast-check';
import {
  formatWindow,
  latestStart,
  MAX_DURATION_MINUTES,
  MIN_DURATION_MINUTES,
  nextStart,
  openWindow,
  parseWindow,
  windowOf,
  windowParts,
  WindowError,
} from './maintenance-window.js';

// 2026-12-06 is a Sunday
const at = (iso: string) => new Date(iso);

test("RDS's ddd:hh24:mi-ddd:hh24:mi is read into a start minute of the week and a duration", (t) => {
  t.deepEqual(parseWindow('sun:03:00-sun:04:00'), { start: 180, duration: 60 });
  t.deepEqual(parseWindow('Mon:23:30-tue:01:00'), { start: 1440 + 23 * 60 + 30, duration: 90 });
  // over the week's end
  t.deepEqual(parseWindow('sat:23:30-sun:00:30'), { start: 6 * 1440 + 23 * 60 + 30, duration: 60 });
  t.deepEqual(parseWindow('wed:00:00-thu:00:00'), { start: 3 * 1440, duration: 1440 });
  t.deepEqual(windowOf('FRI', '22:15', 45), { start: 5 * 1440 + 22 * 60 + 15, duration: 45 });
  t.is(formatWindow({ start: 6 * 1440 + 23 * 60 + 30, duration: 60 }), 'sat:23:30-sun:00:30');
  t.deepEqual(windowParts({ start: 1440 + 125, duration: 30 }), { day_of_week: 'mon', start_time: '02:05', duration: 30 });
});

test('a window that cannot be read says which part is wrong', (t) => {
  const bad: Array<[string, RegExp]> = [
    ['sun:03:00', /not of the form ddd:hh24:mi-ddd:hh24:mi/],
    ['sun 03:00-sun 04:00', /'sun 03:00' is not of the form ddd:hh24:mi/],
    ['sux:03:00-sun:04:00', /'sux' is not a day of the week/],
    ['sun:24:00-mon:01:00', /hour 24 in '24:00' is not 00 to 23/],
    ['sun:03:60-sun:04:00', /minute 60 in '03:60' is not 00 to 59/],
    ['sun:03:00-sun:03:10', /must be 30 minutes to 24 hours, not 10 minutes/],
    ['sun:03:00-sun:03:00', /not 0 minutes/],
    ['sun:03:00-tue:03:00', /not 2880 minutes/],
    ['', /not of the form/],
  ];
  for (const [text, re] of bad) t.throws(() => parseWindow(text), { instanceOf: WindowError, message: re }, text);
  t.throws(() => windowOf('sun', '3:00', 60), { instanceOf: WindowError, message: /'3:00' is not a time/ });
  t.throws(() => windowOf('sun', '03:00', 29), { instanceOf: WindowError, message: /duration must be 30 minutes/ });
  t.throws(() => windowOf('sun', '03:00', 60.5), { instanceOf: WindowError });
});

test('inside the window: from its first minute up to (not including) its end, over the week end too', (t) => {
  const w = parseWindow('sun:03:00-sun:04:00');
  t.is(openWindow(w, at('2026-12-06T02:59:59Z')), undefined);
  t.deepEqual(openWindow(w, at('2026-12-06T03:00:00Z')), at('2026-12-06T03:00:00Z'));
  t.deepEqual(openWindow(w, at('2026-12-06T03:59:59.999Z')), at('2026-12-06T03:00:00Z'));
  t.is(openWindow(w, at('2026-12-06T04:00:00Z')), undefined);
  t.is(openWindow(w, at('2026-12-07T03:30:00Z')), undefined, 'Monday');
  t.deepEqual(openWindow(w, at('2026-12-13T03:30:00Z')), at('2026-12-13T03:00:00Z'), 'the next Sunday');
  const wrap = parseWindow('sat:23:30-sun:00:30');
  t.deepEqual(openWindow(wrap, at('2026-12-05T23:45:00Z')), at('2026-12-05T23:30:00Z'));
  t.deepEqual(openWindow(wrap, at('2026-12-06T00:15:00Z')), at('2026-12-05T23:30:00Z'), "Sunday's part belongs to Saturday's occurrence");
  t.is(openWindow(wrap, at('2026-12-06T00:30:00Z')), undefined);
  t.deepEqual(nextStart(w, at('2026-12-07T12:00:00Z')), at('2026-12-13T03:00:00Z'));
  t.deepEqual(nextStart(w, at('2026-12-06T03:10:00Z')), at('2026-12-13T03:00:00Z'));
});

const windows = fc.record({ start: fc.integer({ min: 0, max: 7 * 1440 - 1 }), duration: fc.integer({ min: MIN_DURATION_MINUTES, max: MAX_DURATION_MINUTES }) });
const instants = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true });

test('property: written and read back, a window is the same', (t) => {
  fc.assert(fc.property(windows, (w) => t.deepEqual(parseWindow(formatWindow(w)), w)));
});

test('property: `now` is inside exactly when it is less than `duration` minutes after the latest start, which is on the window day and time', (t) => {
  fc.assert(
    fc.property(windows, instants, (w, now) => {
      const start = latestStart(w, now);
      const after = now.getTime() - start.getTime();
      // the latest start is at most a week back, on the window's minute of the week
      if (after < 0 || after >= 7 * 1440 * 60_000) return false;
      if (start.getUTCDay() * 1440 + start.getUTCHours() * 60 + start.getUTCMinutes() !== w.start || start.getUTCSeconds() !== 0) return false;
      const inside = openWindow(w, now);
      return after < w.duration * 60_000 ? inside?.getTime() === start.getTime() : inside === undefined;
    }),
  );
  t.pass();
});

test('property: every minute of the week is inside a window exactly as often as the window is long', (t) => {
  fc.assert(
    fc.property(windows, (w) => {
      const sunday = Date.UTC(2026, 11, 6); // 00:00
      let inside = 0;
      for (let m = 0; m < 7 * 1440; m += 5) if (openWindow(w, new Date(sunday + m * 60_000 + 1000))) inside++;
      return Math.abs(inside - w.duration / 5) <= 1;
    }),
    { numRuns: 50 },
  );
  t.pass();
});
