// pino loggers with one redaction list: no password, token, key or credential-bearing URL
// ever reaches a log line.
import { pino, type Logger, type DestinationStream } from 'pino';

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

export interface LogOptions {
  level?: string;
  destination?: DestinationStream;
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
    options.destination ?? pino.destination(2),
  );
}
