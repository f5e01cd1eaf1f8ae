// Keystone v3: the service's own token (password auth, refreshed before expiry), validation
// of users' tokens (GET /v3/auth/tokens), cached by the token's hash until it expires, and trusts
// (OS-TRUST) from users to the service user.
import { createHash } from 'node:crypto';
import axios, { isAxiosError, type AxiosInstance } from 'axios';
import {
  EndpointNotFoundError,
  InvalidTokenError,
  findEndpoint,
  type CatalogEntry,
  type EndpointQuery,
  type ServiceIdentity,
  type TokenInfo,
  type TokenValidator,
  type TrustDelegation,
} from '../identity.js';
import { BackendUnavailableError } from '../errors.js';
import { translateHttpError } from './errors.js';
import type { ServiceCredentialsConfig } from './config.js';

interface KeystoneToken {
  expires_at: string;
  user: { id: string; name: string; domain?: { id: string } };
  project?: { id: string; name: string; domain?: { id: string } };
  roles?: Array<{ id: string; name: string }>;
  catalog?: Array<{ type: string; name: string; endpoints: Array<{ url: string; region?: string | null; region_id?: string | null; interface: string }> }>;
}

export function v3Url(authUrl: string): string {
  const u = authUrl.replace(/\/+$/, '');
  return /\/v3$/.test(u) ? u : `${u}/v3`;
}

function toTokenInfo(t: KeystoneToken): TokenInfo {
  return {
    userId: t.user.id,
    userName: t.user.name,
    projectId: t.project?.id ?? '',
    projectName: t.project?.name ?? '',
    domainId: t.project?.domain?.id,
    roles: (t.roles ?? []).map((r) => r.name),
    expiresAt: new Date(t.expires_at),
    catalog: (t.catalog ?? []).map((c): CatalogEntry => ({
      type: c.type,
      name: c.name,
      endpoints: c.endpoints.map((e) => ({ url: e.url, region: e.region_id ?? e.region ?? null, interface: e.interface })),
    })),
  };
}

/** The service's own project-scoped token, shared by concurrent callers, renewed ahead of expiry. */
export class KeystoneServiceIdentity implements ServiceIdentity {
  private readonly http: AxiosInstance;
  private current?: { token: string; info: TokenInfo; renewAt: number };
  private inflight?: Promise<{ token: string; info: TokenInfo }>;

  constructor(
    private readonly c: ServiceCredentialsConfig,
    private readonly overrides: Partial<Record<string, string>> = {},
  ) {
    if (!c.auth_url) throw new Error('service credentials have no auth_url');
    this.http = axios.create({ baseURL: v3Url(c.auth_url), timeout: c.http_connect_timeout * 1000 });
  }

  async token(fresh = false): Promise<string> {
    return (await this.session(fresh)).token;
  }

  async info(): Promise<TokenInfo> {
    return (await this.session(false)).info;
  }

  async endpoint(query: EndpointQuery): Promise<string> {
    const override = this.overrides[query.type];
    if (override) return override;
    const q = { ...query, region: query.region ?? this.c.region_name, interface: query.interface ?? this.c.interface };
    const url = findEndpoint((await this.session(false)).info.catalog, q);
    if (!url) throw new EndpointNotFoundError(q);
    return url;
  }

  private async session(fresh: boolean): Promise<{ token: string; info: TokenInfo }> {
    if (!fresh && this.current && Date.now() < this.current.renewAt) return this.current;
    this.inflight ??= this.issue().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async issue(): Promise<{ token: string; info: TokenInfo }> {
    const body = {
      auth: {
        identity: passwordIdentity(this.c),
        scope: { project: { name: this.c.project_name, domain: { name: this.c.project_domain_name } } },
      },
    };
    try {
      const r = await this.http.post<{ token: KeystoneToken }>('/auth/tokens', body);
      const token = String(r.headers['x-subject-token']);
      const info = toTokenInfo(r.data.token);
      const now = Date.now();
      const life = info.expiresAt.getTime() - now;
      // Renew at 80% of the lifetime, and never later than a minute before expiry.
      const renewAt = now + Math.max(0, Math.min(life * 0.8, life - 60_000));
      this.current = { token, info, renewAt };
      return this.current;
    } catch (err) {
      if (isAxiosError(err) && err.response?.status === 401) {
        throw new Error('Keystone refused the service credentials ([service_credentials] / [keystone_authtoken] username/password/project)', { cause: err });
      }
      throw translateHttpError('identity', 'service token', err);
    }
  }
}

interface CacheEntry {
  info: TokenInfo;
  until: number;
}

/** Validates users' tokens with the service's token; a bounded LRU keyed by sha256(token). */
export class KeystoneTokenValidator implements TokenValidator {
  private readonly http: AxiosInstance;
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    authUrl: string,
    private readonly service: Pick<ServiceIdentity, 'token'>,
    private readonly o: { cacheSeconds: number; maxEntries: number; timeoutMs?: number; now?: () => number },
  ) {
    this.http = axios.create({ baseURL: v3Url(authUrl), timeout: o.timeoutMs ?? 10_000 });
  }

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }

  async validate(token: string): Promise<TokenInfo> {
    const key = createHash('sha256').update(token).digest('hex');
    const hit = this.cache.get(key);
    const now = this.now();
    if (hit && now < hit.until && now < hit.info.expiresAt.getTime()) {
      this.cache.delete(key);
      this.cache.set(key, hit); // most recently used last
      return hit.info;
    }
    this.cache.delete(key);
    const info = await this.fetch(token, false);
    if (info.expiresAt.getTime() <= now) throw new InvalidTokenError();
    if (this.o.cacheSeconds > 0) {
      this.cache.set(key, { info, until: Math.min(now + this.o.cacheSeconds * 1000, info.expiresAt.getTime()) });
      while (this.cache.size > this.o.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    }
    return info;
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  private async fetch(token: string, retried: boolean): Promise<TokenInfo> {
    try {
      const r = await this.http.get<{ token: KeystoneToken }>('/auth/tokens', {
        headers: { 'X-Auth-Token': await this.service.token(retried), 'X-Subject-Token': token },
      });
      return toTokenInfo(r.data.token);
    } catch (err) {
      if (isAxiosError(err)) {
        const status = err.response?.status;
        if (status === 404) throw new InvalidTokenError();
        // 401: our own token was refused (expired/revoked): renew it once.
        if (status === 401 && !retried) return this.fetch(token, true);
        if (status === 401 || status === 403) throw new BackendUnavailableError('identity', `service token refused (${status})`);
      }
      throw translateHttpError('identity', 'token validation', err);
    }
  }
}

/** The service user's password (and the names that find it), as Keystone's password method wants them. */
function passwordIdentity(c: ServiceCredentialsConfig) {
  return { methods: ['password'], password: { user: { name: c.username, password: c.password, domain: { name: c.user_domain_name } } } };
}

/** OS-TRUST with the service user as trustee; the trustee's id comes from the service's own token. */
export class KeystoneTrusts implements TrustDelegation {
  private readonly http: AxiosInstance;

  constructor(
    private readonly c: ServiceCredentialsConfig,
    private readonly service: { info(): Promise<TokenInfo> },
  ) {
    if (!c.auth_url) throw new Error('service credentials have no auth_url');
    this.http = axios.create({ baseURL: v3Url(c.auth_url), timeout: c.http_connect_timeout * 1000 });
  }

  async createTrust(userToken: string, user: TokenInfo): Promise<string> {
    const trustee = (await this.service.info()).userId;
    const body = {
      trust: {
        trustor_user_id: user.userId,
        trustee_user_id: trustee,
        project_id: user.projectId,
        roles: user.roles.map((name) => ({ name })),
        impersonation: true,
        allow_redelegation: false,
      },
    };
    try {
      const r = await this.http.post<{ trust: { id: string } }>('/OS-TRUST/trusts', body, { headers: { 'X-Auth-Token': userToken } });
      return r.data.trust.id;
    } catch (err) {
      throw translateHttpError('identity', 'trust creation', err);
    }
  }

  async deleteTrust(token: string, trustId: string): Promise<void> {
    try {
      await this.http.delete(`/OS-TRUST/trusts/${encodeURIComponent(trustId)}`, { headers: { 'X-Auth-Token': token } });
    } catch (err) {
      if (isAxiosError(err) && err.response?.status === 404) return;
      throw translateHttpError('identity', `trust ${trustId}`, err);
    }
  }

  async trustToken(trustId: string): Promise<{ token: string; info: TokenInfo }> {
    const body = { auth: { identity: passwordIdentity(this.c), scope: { 'OS-TRUST:trust': { id: trustId } } } };
    try {
      const r = await this.http.post<{ token: KeystoneToken }>('/auth/tokens', body);
      return { token: String(r.headers['x-subject-token']), info: toTokenInfo(r.data.token) };
    } catch (err) {
      // 401: the service credentials are wrong, or the trust is gone (deleted, expired, trustor disabled)
      if (isAxiosError(err) && err.response?.status === 401)
        throw new InvalidTokenError(`Keystone refused a token for trust ${trustId} (deleted, expired, or the service credentials are wrong)`);
      throw translateHttpError('identity', `trust ${trustId} token`, err);
    }
  }
}
