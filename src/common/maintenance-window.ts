// A weekly maintenance window (trove-ts extension, as RDS's): a day of the week, a start time and a
// duration, all UTC. Written as RDS writes it, `ddd:hh24:mi-ddd:hh24:mi` (`sun:03:00-sun:04:00`;
// a window may run over midnight and over the week's end, `sat:23:30-sun:00:30`), or as its parts.
// Stored as the minute of the week it starts at (Sunday 00:00 = 0, as Date#getUTCDay counts) and
// its length in minutes.

export const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Day = (typeof DAYS)[number];

const WEEK_MINUTES = 7 * 24 * 60;
/** RDS's bounds: at least 30 minutes, at most a day. */
export const MIN_DURATION_MINUTES = 30;
export const MAX_DURATION_MINUTES = 24 * 60;

export interface MaintenanceWindow {
  /** minutes since Sunday 00:00 UTC, 0 ≤ start < 10080 */
  start: number;
  /** minutes, 30 to 1440 */
  duration: number;
}

/** A window that cannot be read, with the reason in words (the API's 400 message). */
export class WindowError extends Error {}

const pad = (n: number) => String(n).padStart(2, '0');

/** `sun:03:00` → minute of the week; throws WindowError naming the part that is wrong. */
export function parseDayTime(text: string): number {
  const m = /^([a-z]{3}):(\d{2}):(\d{2})$/i.exec(text);
  if (!m) throw new WindowError(`'${text}' is not of the form ddd:hh24:mi (e.g. sun:03:00)`);
  const day = DAYS.indexOf(m[1]!.toLowerCase() as Day);
  if (day < 0) throw new WindowError(`'${m[1]}' is not a day of the week (${DAYS.join(', ')})`);
  return day * 1440 + parseTime(`${m[2]}:${m[3]}`);
}

/** `03:00` → minutes since midnight. */
export function parseTime(text: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(text);
  if (!m) throw new WindowError(`'${text}' is not a time of the form hh24:mi (e.g. 03:00)`);
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 23) throw new WindowError(`hour ${m[1]} in '${text}' is not 00 to 23`);
  if (min > 59) throw new WindowError(`minute ${m[2]} in '${text}' is not 00 to 59`);
  return h * 60 + min;
}

function checkedDuration(duration: number, what: string): number {
  if (!Number.isInteger(duration) || duration < MIN_DURATION_MINUTES || duration > MAX_DURATION_MINUTES) {
    throw new WindowError(`${what} must be ${MIN_DURATION_MINUTES} minutes to ${MAX_DURATION_MINUTES / 60} hours, not ${duration} minutes`);
  }
  return duration;
}

/** RDS's `ddd:hh24:mi-ddd:hh24:mi`. */
export function parseWindow(text: string): MaintenanceWindow {
  const parts = text.trim().split('-');
  if (parts.length !== 2) throw new WindowError(`'${text}' is not of the form ddd:hh24:mi-ddd:hh24:mi (e.g. sun:03:00-sun:04:00)`);
  const start = parseDayTime(parts[0]!);
  const end = parseDayTime(parts[1]!);
  const duration = (end - start + WEEK_MINUTES) % WEEK_MINUTES;
  return { start, duration: checkedDuration(duration, `the window '${text}'`) };
}

/** A day, a start time and a duration in minutes. */
export function windowOf(day: string, startTime: string, duration: number): MaintenanceWindow {
  const d = DAYS.indexOf(day.toLowerCase() as Day);
  if (d < 0) throw new WindowError(`'${day}' is not a day of the week (${DAYS.join(', ')})`);
  return { start: d * 1440 + parseTime(startTime), duration: checkedDuration(duration, 'duration') };
}

const dayTime = (minuteOfWeek: number) => {
  const m = ((minuteOfWeek % WEEK_MINUTES) + WEEK_MINUTES) % WEEK_MINUTES;
  return `${DAYS[Math.floor(m / 1440)]}:${pad(Math.floor((m % 1440) / 60))}:${pad(m % 60)}`;
};

/** The window in RDS's words. */
export function formatWindow(w: MaintenanceWindow): string {
  return `${dayTime(w.start)}-${dayTime(w.start + w.duration)}`;
}

/** The window's parts, as the API shows them. */
export function windowParts(w: MaintenanceWindow): { day_of_week: Day; start_time: string; duration: number } {
  return { day_of_week: DAYS[Math.floor(w.start / 1440)]!, start_time: dayTime(w.start).slice(4), duration: w.duration };
}

const minuteOfWeek = (t: Date) => t.getUTCDay() * 1440 + t.getUTCHours() * 60 + t.getUTCMinutes();

/** When the window's latest occurrence began, at or before `now`. */
export function latestStart(w: MaintenanceWindow, now: Date): Date {
  const since = (minuteOfWeek(now) - w.start + WEEK_MINUTES) % WEEK_MINUTES;
  const floored = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), now.getUTCHours(), now.getUTCMinutes());
  return new Date(floored - since * 60_000);
}

/** The occurrence of the window `now` is in (its start), or undefined outside it. */
export function openWindow(w: MaintenanceWindow, now: Date): Date | undefined {
  const start = latestStart(w, now);
  return now.getTime() < start.getTime() + w.duration * 60_000 ? start : undefined;
}

/** When the window next opens after `now`. */
export function nextStart(w: MaintenanceWindow, now: Date): Date {
  return new Date(latestStart(w, now).getTime() + WEEK_MINUTES * 60_000);
}
