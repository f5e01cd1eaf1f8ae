// One axios instance per driver: JSON, timeout, X-Auth-Token from a token function, one retry
// with a fresh token after a 401, errors translated at the edge.
import axios, { isAxiosError, type AxiosInstance, type AxiosRequestConfig } from 'axios';
import { translateHttpError } from './errors.js';

export interface DriverOptions {
  /** The service's base URL (from the catalog or an override). */
  endpoint: () => Promise<string>;
  /** A valid token; `fresh` asks for a new one after a 401. */
  token: (fresh?: boolean) => Promise<string>;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export class HttpDriver {
  private readonly http: AxiosInstance;

  constructor(
    readonly service: string,
    private readonly o: DriverOptions,
  ) {
    this.http = axios.create({
      timeout: o.timeoutMs ?? 30_000,
      headers: { Accept: 'application/json', 'User-Agent': 'trove-ts', ...(o.headers ?? {}) },
    });
  }

  async request<T>(what: string, config: AxiosRequestConfig): Promise<T> {
    const base = (await this.o.endpoint()).replace(/\/+$/, '');
    const send = async (fresh: boolean) =>
      this.http.request<T>({
        ...config,
        url: /^https?:/.test(config.url ?? '') ? config.url : `${base}${config.url ?? ''}`,
        headers: { ...(config.headers ?? {}), 'X-Auth-Token': await this.o.token(fresh) },
      });
    try {
      return (await send(false)).data;
    } catch (err) {
      if (isAxiosError(err) && err.response?.status === 401) {
        try {
          return (await send(true)).data;
        } catch (again) {
          throw translateHttpError(this.service, what, again);
        }
      }
      throw translateHttpError(this.service, what, err);
    }
  }
}
