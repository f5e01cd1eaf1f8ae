// pino loggers with one redaction list: no password, token, key or credential-bearing URL
// ever reaches a log line.
import { pino, type Logger, type DestinationStream } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** Key names whose values are never logged, wherever they appear (two levels deep). */
export const SECRET_KEYS = [
  'password',
  'root_password',
  'admin_password',
  'token',
  'auth_token',
  'x-auth-token',
  'x-subject-token',
  'x-service-token',
  'secret',
  'encrypted_key',
  'key',
  'connection',
  'transport_url',
  'authorization',
];

// each key once, at the top and one or two levels down: as a plain path when it is an identifier,
// in brackets when it is not (x-auth-token); both forms of an identifier are the same path, and
// each wildcard path costs every line a walk of the record (84 paths: about 120 µs a line, 42: 55)
const redactPaths = SECRET_KEYS.flatMap((k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? [k, `*.${k}`, `*.*.${k}`] : [`["${k}"]`, `*["${k}"]`, `*.*["${k}"]`]));

/**
 * The same logger without the redaction pass, for records whose keys are written in the code and
 * none of them is a secret's (the access line: ids, method, path, status, time; a test holds its
 * keys to that). Redaction walks every record for the wildcard paths: about 55 µs of a request's
 * CPU for the access line alone, against 3 µs to write it.
 */
export function fixedKeysLogger(log: Logger): Logger {
  return log.child({}, { redact: { paths: [], censor: '***' } });
}

/** Credentials inside URLs: scheme://user:pass@host → scheme://user:***@host. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^/:@\s]*):[^@/\s]*@/g, '$1:***@');
}

/** JSON lines (for machines: files, journald, log shippers) or short human lines (a person at a terminal). */
export type LogFormat = 'json' | 'pretty';

/**
 * Human lines only for a person watching: both stdout and stderr are terminals and JSON was not
 * asked for (`--log-json`). Redirect either one, or pipe it, and the log is JSON lines.
 */
export function chooseLogFormat(o: { json?: boolean; stdoutIsTTY?: boolean; stderrIsTTY?: boolean }): LogFormat {
  return !o.json && o.stdoutIsTTY === true && o.stderrIsTTY === true ? 'pretty' : 'json';
}

export interface LogOptions {
  level?: string;
  destination?: DestinationStream;
  /** 'pretty' writes `HH:MM:ss LEVEL svc: message key=value` lines to stderr (no destination); JSON by default. */
  format?: LogFormat;
  /**
   * false: JSON lines to stderr are written in the background, in writes of 4 KiB of lines or
   * every 250 ms (a busy trove-api spent about 7% of its time on one write per request, then as
   * much again on one background write per line); what is left is written when the process exits.
   * Default true: each line is written before the call returns.
   */
  sync?: boolean;
}

/** One line per record on stderr, written synchronously (nothing lost when the process exits). */
function prettyStream(): DestinationStream {
  return pretty({
    destination: 2,
    sync: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,service,name,svc',
    messageFormat: '{if svc}{svc}: {end}{msg}',
    singleLine: true,
  });
}

/** Written in the background: one write per 4 KiB of lines, or every 250 ms when fewer came. */
const BACKGROUND = { minLength: 4096, periodicFlush: 250 };

function jsonStream(sync: boolean): DestinationStream {
  return pino.destination({ dest: 2, sync, ...(sync ? {} : BACKGROUND) });
}

export function createLogger(name: string, options: LogOptions = {}): Logger {
  return pino(
    {
      name,
      level: options.level ?? 'info',
      redact: { paths: redactPaths, censor: '***' },
      base: { service: name, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? (options.format === 'pretty' ? prettyStream() : jsonStream(options.sync ?? true)),
  );
}

/** The longest reason or log tail a fault, a status or a backup carries (characters). */
export const MAX_REASON_CHARS = 2000;

const SECRET_ASSIGNMENT = new RegExp(
  `\\b(${SECRET_KEYS.map((k) => k.replace(/[-_]/g, '[-_]?')).join('|')}|passwd|pass|pwd|api[-_]?key)(["']?\\s*[=:]\\s*)(?!(?:YES|NO)\\b)((?:Bearer\\s+)?(?:"[^"]*"|'[^']*'|[^\\s,;&)]+))`,
  'gi',
);

/**
 * Free text headed for a fault, a status reason or a log tail, with secrets taken out: URL
 * credentials (redactUrl), `key=value` / `key: value` for every name of SECRET_KEYS, SQL's
 * IDENTIFIED BY / PASSWORD '…' literals, bearer tokens; control characters (a tool's bell) dropped;
 * cut to `max` characters (the end kept: the newest lines).
 */
export function scrubSecrets(text: string, max = MAX_REASON_CHARS): string {
  let s = redactUrl(text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ''))
    .replace(/(IDENTIFIED\s+(?:BY|WITH\s+\S+\s+(?:BY|AS))\s+(?:PASSWORD\s+)?)('[^']*'|"[^"]*")/gi, "$1'***'")
    .replace(/(\bPASSWORD\s*(?:\(\s*)?)('[^']*'|"[^"]*")/gi, "$1'***'")
    .replace(/(\bBearer\s+)[A-Za-z0-9._~+/=-]+/g, '$1***')
    .replace(SECRET_ASSIGNMENT, '$1$2***');
  if (s.length > max) s = `…${s.slice(s.length - max + 1)}`;
  return s;
}
