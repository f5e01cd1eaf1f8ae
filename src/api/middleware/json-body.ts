// Reads a JSON request body up to the configured size: larger → 413 overLimit, not JSON → Trove's
// "Malformed request body". The parsed value is in ctx.request.body (undefined when empty).
import getRawBody from 'raw-body';
import type { Middleware } from 'koa';
import { OverLimitError } from '../../common/errors.js';
import { malformedBody } from '../webob-errors.js';

export function jsonBody(limitBytes: number): Middleware {
  return async (ctx, next) => {
    if (ctx.method === 'GET' || ctx.method === 'HEAD' || (ctx.method === 'DELETE' && !ctx.request.length)) {
      return next();
    }
    const declared = ctx.request.length;
    if (declared !== undefined && declared > limitBytes) {
      throw new OverLimitError(`Request body is too large: ${declared} bytes, the limit is ${limitBytes}.`);
    }
    let text: string;
    try {
      text = await getRawBody(ctx.req, { limit: limitBytes, encoding: 'utf8', length: declared });
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (type === 'entity.too.large') {
        throw new OverLimitError(`Request body is too large: the limit is ${limitBytes} bytes.`);
      }
      throw malformedBody();
    }
    if (text.trim() !== '') {
      try {
        ctx.request.body = JSON.parse(text);
      } catch {
        throw malformedBody();
      }
    }
    return next();
  };
}

declare module 'koa' {
  interface Request {
    /** The parsed JSON request body; undefined when the request had none. */
    body?: unknown;
  }
}
