// Authenticates X-Auth-Token against the identity service and checks that the URL's project is the
// token's (Trove's tenant check). Sets ctx.state.context (RequestContext).
import type { Middleware } from 'koa';
import { InvalidTokenError, type TokenValidator } from '../../clients/identity.js';
import type { RequestContext } from '../../common/context.js';
import type { Credentials } from '../policy/credentials.js';
import { BackendUnavailableError } from '../../clients/errors.js';
import { authenticationRequired, identityUnavailable, tenantMismatch } from '../webob-errors.js';

export interface AuthOptions {
  tokens: TokenValidator;
  /** Who is an administrator: the policy's answer (context_is_admin, or [DEFAULT] admin_roles when set). */
  isAdmin: (creds: Credentials) => boolean;
  /** Sent in Www-Authenticate on 401 ([keystone_authtoken] www_authenticate_uri). */
  wwwAuthenticateUri?: string | undefined;
}

export function authenticate(options: AuthOptions): Middleware {
  return async (ctx, next) => {
    const token = ctx.get('x-auth-token') || ctx.get('x-storage-token');
    if (!token) throw authenticationRequired(options.wwwAuthenticateUri);
    let info;
    try {
      info = await options.tokens.validate(token);
    } catch (err) {
      if (err instanceof InvalidTokenError) throw authenticationRequired(options.wwwAuthenticateUri);
      if (err instanceof BackendUnavailableError) throw identityUnavailable();
      throw err;
    }
    const context: RequestContext = {
      requestId: ctx.state.requestId as string,
      projectId: info.projectId,
      projectName: info.projectName,
      userId: info.userId,
      userName: info.userName,
      roles: info.roles,
      isAdmin: options.isAdmin({ roles: [...info.roles], project_id: info.projectId, user_id: info.userId, is_admin: false }),
      authToken: token,
    };
    ctx.state.context = context;
    ctx.state.tokenInfo = info;
    const tenant = ctx.state.urlProjectId as string | undefined;
    if (tenant !== undefined && tenant !== info.projectId) throw tenantMismatch(info.projectId);
    await next();
  };
}
