// Five-field cron expressions (minute hour day-of-month month day-of-week, UTC) for backup
// schedules: validation that names the wrong field, and the next run after a moment. Parsing is
// cron-parser's; this file only fixes the dialect (exactly five fields, no seconds, no `H`).
import { CronExpressionParser } from 'cron-parser';

export const CRON_FIELDS = ['minute', 'hour', 'day of month', 'month', 'day of week'] as const;

export class CronError extends Error {
  constructor(
    message: string,
    /** the field that is wrong, when one is */
    readonly field?: (typeof CRON_FIELDS)[number],
  ) {
    super(message);
    this.name = 'CronError';
  }
}

function parse(expr: string, after: Date) {
  return CronExpressionParser.parse(expr, { currentDate: after, tz: 'UTC' });
}

/** Returns the normalized expression (single spaces), or throws CronError naming the field. */
export function validateCron(expr: string): string {
  const fields = expr.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5) {
    throw new CronError(`cron must have 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}.`);
  }
  for (let i = 0; i < 5; i++) {
    const f = fields[i]!;
    const name = CRON_FIELDS[i]!;
    if (/(^|[^a-z])h([^a-z]|$)/i.test(f)) {
      // a bare H (cron-parser's random value) would move the run at every parse
      throw new CronError(`cron ${name} field '${f}' is not valid: H is not supported.`, name);
    }
    const probe = fields.map((x, j) => (j === i ? x : '*')).join(' ');
    try {
      parse(probe, new Date(0));
    } catch (err) {
      throw new CronError(`cron ${name} field '${f}' is not valid: ${(err as Error).message}.`, name);
    }
  }
  const normalized = fields.join(' ');
  try {
    nextRun(normalized, new Date());
  } catch (err) {
    throw new CronError(`cron '${normalized}' never matches: ${(err as Error).message}.`);
  }
  return normalized;
}

/** The first moment strictly after `after` that the (valid) expression matches. */
export function nextRun(expr: string, after: Date): Date {
  return parse(expr, after).next().toDate();
}
