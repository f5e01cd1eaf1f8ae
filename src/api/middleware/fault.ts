// Renders every error as Trove does: {"<faultName>": {"code": N, "message": "..."}}; unknown errors
// become 500 instanceFault with a generic message carrying an id that is also logged.
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { NotFoundError, TroveError, RateLimitedError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { RawBodyError } from '../webob-errors.js';
import { translateDriverError } from '../driver-errors.js';
import { translateGuestError } from '../guest-errors.js';

export function faultBody(err: TroveError): Record<string, unknown> {
  return { [err.faultName]: { code: err.httpStatus, message: err.message, ...err.extra } };
}

export function fault(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      // Nothing answered: an unknown route.
      if (ctx.status === 404 && ctx.body == null) {
        throw new NotFoundError(`The resource could not be found: ${ctx.method} ${ctx.path}`);
      }
    } catch (caught) {
      const err = translateGuestError(translateDriverError(caught));
      if (err instanceof RawBodyError) {
        ctx.status = err.httpStatus;
        for (const [k, v] of Object.entries(err.headers)) ctx.set(k, v);
        ctx.body = err.body;
      } else if (err instanceof TroveError && err.expose) {
        ctx.status = err.httpStatus;
        if (err instanceof RateLimitedError) ctx.set('Retry-After', String(err.retryAfterSeconds));
        ctx.body = faultBody(err);
        if (err.httpStatus >= 500) log.error({ request_id: ctx.state.requestId, err: errSummary(err) }, 'request failed');
      } else {
        const id = randomUUID();
        log.error({ request_id: ctx.state.requestId, fault_id: id, err: errSummary(err) }, 'unexpected error');
        ctx.status = 500;
        ctx.body = {
          instanceFault: {
            code: 500,
            message: `Internal Server Error. Please keep this ID to help us figure out what went wrong: (${id}).`,
          },
        };
      }
      ctx.type = 'application/json';
    }
  };
}

/** Name, message and stack only: an error's own properties may carry request data. */
function errSummary(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { type: err.name, message: err.message, stack: err.stack };
  return { type: typeof err };
}
