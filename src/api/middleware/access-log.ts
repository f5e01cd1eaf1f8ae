// One pino JSON line per request: method, path, status, duration, ids. Never headers or bodies.
import type { Middleware } from 'koa';
import { fixedKeysLogger, type Logger } from '../../common/log.js';

/** The keys of an access line (none is a secret: its logger skips the redaction pass, see fixedKeysLogger). */
export const ACCESS_LINE_KEYS = ['request_id', 'method', 'path', 'status', 'ms', 'project_id', 'user_id', 'remote'] as const;

export function accessLog(log: Logger): Middleware {
  const lines = fixedKeysLogger(log);
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const context = ctx.state.context as { projectId?: string; userId?: string } | undefined;
      lines.info(
        {
          request_id: ctx.state.requestId,
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
          project_id: context?.projectId,
          user_id: context?.userId,
          remote: ctx.ip,
        },
        'request',
      );
    }
  };
}
