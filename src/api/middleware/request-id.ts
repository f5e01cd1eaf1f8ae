// Gives every request an id (req-<uuid>), returned as x-openstack-request-id on every response.
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';

export function requestId(): Middleware {
  return async (ctx, next) => {
    const id = `req-${randomUUID()}`;
    ctx.state.requestId = id;
    ctx.set('x-openstack-request-id', id);
    await next();
  };
}
