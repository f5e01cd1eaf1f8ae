// /instances/{id}/log: the instance's guest logs (Trove's guest_log_list / guest_log_action),
// answered by its guest agent. Publish and discard hand the guest the caller's object store (the
// user's Swift with the user's token, or the all-in-one store), as backups do. The guest decides
// what a caller may see: logs not exposed by the datastore (SYS logs by default) only for
// administrators, so the call carries the caller's is_admin in its context, as Trove's does.
import { authorizeAction } from '../../authorizer.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import { EndpointNotFoundError } from '../../../clients/identity.js';
import { BadRequestError, NotImplementedError } from '../../../common/errors.js';
import { param, requestContext, tokenInfo, type ApiDeps } from '../../deps.js';
import { parseBody } from '../../validate.js';
import { guestTarget } from './guest-access.js';
import { logAction } from './log-schemas.js';

interface GuestLog {
  name: string;
  type: string;
  status: string;
  published: number;
  pending: number;
  container?: string | null | undefined;
  prefix?: string | null | undefined;
  metafile?: string | null | undefined;
}

/** Trove's LOG object, its keys in Trove's order. */
const view = (l: GuestLog) => ({
  name: l.name,
  type: l.type,
  status: l.status,
  published: l.published,
  pending: l.pending,
  container: l.container ?? 'None',
  prefix: l.prefix ?? 'None',
  metafile: l.metafile ?? 'None',
});

export function logRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const authorize = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), action);
  /** The context the guest sees: who asks, and whether they are an administrator (never the token). */
  const guestContext = (ctx: Context) => {
    const rc = requestContext(ctx);
    return { request_id: rc.requestId, tenant: rc.projectId, user: rc.userId, is_admin: rc.isAdmin, roles: rc.roles };
  };

  router.get('/instances/:id/log', async (ctx) => {
    authorize(ctx, 'instance:guest_log_list');
    const t = await guestTarget(ctx, deps, param(ctx, 'id'));
    const logs = await t.guest.guest_log_list({}, { ...t.quick, context: guestContext(ctx) });
    ctx.body = { logs: logs.map(view) };
  });

  router.post('/instances/:id/log', async (ctx) => {
    const body = parseBody(logAction, ctx.request.body);
    const acts = body.enable || body.disable || body.publish || body.discard;
    authorize(ctx, acts ? 'instance:guest_log_action' : 'instance:guest_log_list');
    if (body.enable && body.disable) throw new BadRequestError('Cannot enable and disable log.');
    const t = await guestTarget(ctx, deps, param(ctx, 'id'));
    // no object store in the caller's catalog: Trove's LogsNotAvailable (501)
    const storage =
      body.publish || body.discard
        ? await deps.backupStorage(requestContext(ctx), tokenInfo(ctx)).catch((err: unknown) => {
            throw err instanceof EndpointNotFoundError ? new NotImplementedError('Log actions are not supported: the deployment has no object store.') : err;
          })
        : null;
    const log = await t.guest.guest_log_action(
      { log_name: body.name, enable: body.enable, disable: body.disable, publish: body.publish, discard: body.discard, storage },
      // a publish reads and uploads what the log gained: the slow timeout
      {
        timeoutMs: (body.publish || body.discard ? deps.config.agent_call_high_timeout : deps.config.agent_call_low_timeout) * 1000,
        context: guestContext(ctx),
      },
    );
    ctx.body = { log: view(log) };
  });

  return router;
}
