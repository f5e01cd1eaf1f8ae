// The API's part of Trove's dbaas.<action> notifications: .start with the request's base traits
// (request_id, client_ip, server_ip, tenant_id, server_type api) before the action's work, the
// notice handed to the taskmanager in the cast's context (it sends .end or .error when its flow
// ends), and .error from the API when the API's own part fails (a quota, a refused cast).
import type { Context } from 'koa';
import { noticeContext, sendError, sendStart, type DbaasActionName, type DbaasNotice } from '../notifications/dbaas.js';
import { requestContext, type ApiDeps } from './deps.js';

/** Sends dbaas.<action>.start (when notifications are on) and returns the notice. */
export function startNotice(deps: ApiDeps, ctx: Context, action: DbaasActionName, traits: Record<string, unknown>): DbaasNotice | undefined {
  if (!deps.notifier?.enabled) return undefined;
  const rc = requestContext(ctx);
  const n: DbaasNotice = {
    action,
    payload: { request_id: rc.requestId, server_type: 'api', client_ip: ctx.ip, server_ip: ctx.host, tenant_id: rc.projectId, ...traits },
    context: { request_id: rc.requestId, tenant: rc.projectId, project_id: rc.projectId, user: rc.userId, user_id: rc.userId },
  };
  void sendStart(deps.notifier, n, deps.log);
  return n;
}

/** The cast options that carry the notice to the taskmanager. */
export const castWith = (n: DbaasNotice | undefined): { context?: Record<string, unknown> } => (n ? { context: { ...n.context, ...noticeContext(n) } } : {});

/** Runs the API's part of an announced action; its failure sends .error from the API and is thrown on. */
export async function announced<T>(deps: ApiDeps, n: DbaasNotice | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (n && deps.notifier) void sendError(deps.notifier, n, 'api', err as Error, deps.log);
    throw err;
  }
}
