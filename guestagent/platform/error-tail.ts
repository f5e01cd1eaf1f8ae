// What an engine said before it failed: the lines of its error log written since a start began
// that carry the reason (mariadbd's [ERROR] lines, postgres' FATAL/ERROR/PANIC lines, redis'
// '#' lines), secrets scrubbed. These become the instance's fault.
import { existsSync, statSync } from 'node:fs';
import { readSince } from '../../src/common/file-tail.js';
import { scrubSecrets } from '../../src/common/log.js';

/** How an engine marks its error lines: `[ERROR]` (MySQL family), `FATAL:`/`ERROR:` (PostgreSQL), ` # ` (Redis). */
export type ErrorLineStyle = 'bracketed' | 'severity' | 'hash';

/** The size of a log file now: where a start's own lines begin. */
export function logOffset(file: string): number {
  return existsSync(file) ? statSync(file).size : 0;
}

const MYSQL_ERROR = /^(?:\S+\s+\S+\s+\d+\s+)?\[ERROR\]\s*(.*)$/;
const MYSQL_EARLY = /^(?:\/\S*\/)?(?:mariadbd|mysqld): (.*)$/;
const PG_ERROR = /^(?:.*?\s)?(FATAL|PANIC|ERROR):\s+(.*)$/;
const PG_CONF_CAUSE =
  /^(?:.*?\s)?LOG:\s+((?:invalid value for parameter|unrecognized configuration parameter|syntax error in file|could not open configuration file|configuration file .* contains errors).*)$/;
const REDIS_ERROR = /^\d+:[A-Z]\s.*?\s#\s(.*)$/;
/** mariadbd's closing lines say only that it stops. */
const NOISE = /^(Aborting|Unknown\/unsupported storage engine: InnoDB|Plugin 'InnoDB' registration as a STORAGE ENGINE failed\.)$/;

/** The reason lines of an engine's log text, oldest first, without timestamps, at most `max`. */
export function errorLines(text: string, style: ErrorLineStyle, max = 5): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').trimEnd();
    if (style === 'bracketed') {
      const m = MYSQL_ERROR.exec(line);
      const early = MYSQL_EARLY.exec(line); // before its logger is up the server writes `<path>/mariadbd: <error>`
      if (m && !NOISE.test(m[1]!.trim())) out.push(`[ERROR] ${m[1]!.trim()}`);
      else if (early) out.push(early[1]!.trim());
    } else if (style === 'severity') {
      const m = PG_ERROR.exec(line);
      const cause = PG_CONF_CAUSE.exec(line); // a FATAL "configuration file ... contains errors" has its causes at LOG level before it
      if (m) out.push(`${m[1]}: ${m[2]!.trim()}`);
      else if (cause) out.push(`LOG: ${cause[1]!.trim()}`);
    } else {
      const m = REDIS_ERROR.exec(line);
      if (m) out.push(m[1]!.trim());
      else if (
        /^\*\*\* FATAL CONFIG FILE ERROR/.test(line) ||
        /^>>> /.test(line) ||
        /^Reading the configuration file|^Bad directive|^Invalid argument/.test(line.trim())
      )
        out.push(line.trim());
    }
  }
  return [...new Set(out)].slice(-max).map((l) => scrubSecrets(l, 500));
}

/** The reason lines an engine wrote to `file` since `offset`, joined for a fault ('' when none). */
export function errorTail(file: string, style: ErrorLineStyle, offset = 0, max = 5): string {
  return errorLines(readSince(file, offset), style, max).join('; ');
}

/** The last few non-empty lines of a tool's output (its stderr), on one line, secrets scrubbed. */
export function lastLines(text: string, n = 3): string {
  return scrubSecrets(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/\[ERROR\] Aborting$/.test(l))
      .slice(-n)
      .join('; '),
    1000,
  );
}

/** Thrown when an engine (or its tool) failed: the message is the reason, `logTail` the error lines behind it. */
export class EngineFailure extends Error {
  constructor(message: string, logTail = '') {
    super(scrubSecrets(message));
    this.logTail = scrubSecrets(logTail, 8000);
    this.name = 'EngineFailure';
  }

  readonly logTail: string;
}
