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

const redactPaths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `["${k}"]`, `*["${k}"]`, `*.*["${k}"]`]);

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

export function createLogger(name: string, options: LogOptions = {}): Logger {
  return pino(
    {
      name,
      level: options.level ?? 'info',
      redact: { paths: redactPaths, censor: '***' },
      base: { service: name, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? (options.format === 'pretty' ? prettyStream() : pino.destination(2)),
  );
}
