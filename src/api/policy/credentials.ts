// What a rule is checked against: the caller (oslo's creds, Trove's context.to_dict()) and the
// target (Trove passes {tenant: <project of the resource, or of the URL>}).
import type { RequestContext } from '../../common/context.js';

export interface Credentials {
  roles: string[];
  project_id: string | null;
  user_id: string | null;
  is_admin: boolean;
  /** Any other field a generic check may name (`domain_id:...`, `user.enabled:...`). */
  [field: string]: unknown;
}

/** Values a `%(key)s` in a rule is replaced with; Trove's key is `tenant`. */
export type Target = Record<string, unknown>;

export function credentialsOf(context: RequestContext): Credentials {
  return { roles: [...context.roles], project_id: context.projectId, user_id: context.userId, is_admin: context.isAdmin };
}

export function isRequestContext(who: Credentials | RequestContext): who is RequestContext {
  return typeof who.projectId === 'string' && !('project_id' in who);
}

/** Trove's target when none is given, and for a bare project id: {tenant: project}. */
export function targetOf(target: Target | string | undefined, creds: Credentials): Target {
  if (typeof target === 'object') return target;
  const project = target ?? creds.project_id;
  return { tenant: project, project_id: project };
}
