// The few faults Trove's WSGI pipeline (paste/webob, keystonemiddleware) answers with its own body
// shape instead of {"<faultName>": {...}}. Clients accept both; we keep the shapes byte-compatible.
import { TroveError } from '../common/errors.js';

/** A fault with a fixed body, rendered as-is by the fault middleware. */
export class RawBodyError extends TroveError {
  constructor(
    override readonly httpStatus: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
    message = 'request refused',
  ) {
    super(message);
  }
}

/** keystonemiddleware's 401, with the Www-Authenticate header pointing at Keystone. */
export function authenticationRequired(wwwAuthenticateUri: string | undefined): RawBodyError {
  return new RawBodyError(
    401,
    { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } },
    wwwAuthenticateUri ? { 'Www-Authenticate': `Keystone uri="${wwwAuthenticateUri}"` } : {},
    'authentication required',
  );
}

/** keystonemiddleware's 503 when Keystone cannot be reached to validate a token. */
export function identityUnavailable(): RawBodyError {
  return new RawBodyError(
    503,
    { error: { code: 503, title: 'Service Unavailable', message: 'The server is currently unavailable. Please try again at a later time.' } },
    {},
    'identity service unavailable',
  );
}

function webob(status: number, title: string, detail: string): RawBodyError {
  return new RawBodyError(status, {
    message: `${detail}<br /><br />\n\n\n`,
    code: `${status} ${title}`,
    title,
  });
}

/** Trove's tenant check: the URL's project is not the token's. */
export function tenantMismatch(tokenProjectId: string): RawBodyError {
  return new RawBodyError(403, {
    message: `Access was denied to this resource.<br /><br />\nUser with tenant id ${tokenProjectId} cannot access this resource.\n\n`,
    code: '403 Forbidden',
    title: 'Forbidden',
  });
}

/** A request body that is not JSON. */
export function malformedBody(): RawBodyError {
  return webob(400, 'Bad Request', 'Malformed request body');
}
