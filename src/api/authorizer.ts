// The policy check a route asks for: `authorize(ctx, 'datastore:index')` throws 403 when refused.
import type { RequestContext } from '../common/context.js';

export interface Authorizer {
  /** Throws PolicyNotAuthorizedError when the context may not perform the action on the project's resources. */
  authorize(action: string, context: RequestContext, targetProjectId?: string): void;
}
