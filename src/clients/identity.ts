// Identity in our terms: validate a user's token, hold the service's own token, find endpoints.

/** What a validated token says about its bearer. */
export interface TokenInfo {
  userId: string;
  userName: string;
  projectId: string;
  projectName: string;
  domainId?: string;
  roles: string[];
  expiresAt: Date;
  /** The token's service catalog, when Keystone returned one. */
  catalog: CatalogEntry[];
}

export interface CatalogEndpoint {
  url: string;
  region: string | null;
  interface: 'public' | 'internal' | 'admin' | string;
}

export interface CatalogEntry {
  type: string;
  name: string;
  endpoints: CatalogEndpoint[];
}

export interface EndpointQuery {
  type: string;
  region?: string | undefined;
  interface?: string | undefined;
}

export interface TokenValidator {
  /** Resolves the token's identity, or throws InvalidTokenError (expired, revoked, unknown). */
  validate(token: string): Promise<TokenInfo>;
}

/** The service's own identity ([service_credentials]): a token refreshed before it expires. */
export interface ServiceIdentity {
  /** `fresh`: drop the held token and issue a new one (after a 401). */
  token(fresh?: boolean): Promise<string>;
  /** The URL of a service from the service token's catalog; throws EndpointNotFoundError. */
  endpoint(query: EndpointQuery): Promise<string>;
}

/**
 * Keystone trusts: a user delegates their roles on their project to the service user, so that the
 * service can act for them later without their token (scheduled backups into the user's Swift).
 */
export interface TrustDelegation {
  /**
   * With the user's token: a trust from the user (trustor) to the service user (trustee) on the
   * token's project, with the token's roles, impersonating the user. Resolves the trust id.
   */
  createTrust(userToken: string, user: TokenInfo): Promise<string>;
  /** With the trustor's token, or a token scoped to the trust. A trust already gone is no error. */
  deleteTrust(token: string, trustId: string): Promise<void>;
  /** The service user's token scoped to the trust: it acts as the trustor on the trustor's project. */
  trustToken(trustId: string): Promise<{ token: string; info: TokenInfo }>;
}

export class InvalidTokenError extends Error {
  constructor(message = 'The request you have made requires authentication.') {
    super(message);
    this.name = 'InvalidTokenError';
  }
}

export class EndpointNotFoundError extends Error {
  constructor(query: EndpointQuery) {
    super(`No endpoint of type ${query.type}${query.region ? ` in region ${query.region}` : ''} (${query.interface ?? 'public'})`);
    this.name = 'EndpointNotFoundError';
  }
}

/** Picks an endpoint URL from a catalog by type, region and interface. */
export function findEndpoint(catalog: CatalogEntry[], query: EndpointQuery): string | undefined {
  const iface = (query.interface ?? 'public').replace(/URL$/, '');
  for (const entry of catalog) {
    if (entry.type !== query.type) continue;
    const ep = entry.endpoints.find((e) => e.interface === iface && (!query.region || e.region === query.region));
    if (ep) return ep.url;
  }
  return undefined;
}
