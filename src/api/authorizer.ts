// The policy check a route asks for: `authorize(ctx, 'datastore:index')` throws 403 when refused.
import type { RequestContext } from '../common/context.js';
import type { Credentials } from './policy/credentials.js';

export interface Authorizer {
  /**
   * Throws PolicyNotAuthorizedError when the context may not perform the action on the project's
   * resources. `targetProjectId` is the project of the resource acted on (absent: the caller's own).
   */
  authorize(action: string, context: RequestContext, targetProjectId?: string): void;
  /** Whether the caller is an administrator (Trove's check_is_admin: the policy's context_is_admin). */
  isAdmin(creds: Credentials): boolean;
}

interface PolicyState {
  policyActions?: string[];
  /** The project of the last resource the route loaded. */
  policyOwner?: string;
}

/**
 * Trove's authorize_on_tenant: checks `action` against the caller's own project and remembers it,
 * so that once the route has loaded the resource, authorizeOnResource checks it again against the
 * resource's project (Trove's authorize_on_target).
 */
export function authorizeAction(ctx: { state: unknown }, authorizer: Authorizer, context: RequestContext, action: string): void {
  authorizer.authorize(action, context);
  const state = ctx.state as PolicyState;
  if (state.policyOwner !== undefined) authorizer.authorize(action, context, state.policyOwner);
  (state.policyActions ??= []).push(action);
}

/**
 * Trove's authorize_on_target: every action this request was checked for, checked again with the
 * project that owns the resource as the target, so owner rules (`project_id:%(tenant)s`) compare
 * the caller with the resource's project, never with the caller's own.
 */
export function authorizeOnResource(ctx: { state: unknown }, authorizer: Authorizer, context: RequestContext, ownerProjectId: string): void {
  const state = ctx.state as PolicyState;
  state.policyOwner = ownerProjectId;
  for (const action of state.policyActions ?? []) authorizer.authorize(action, context, ownerProjectId);
}
