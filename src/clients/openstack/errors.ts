// The one place that turns axios failures into our errors: flows and routes never see axios.
import { isAxiosError } from 'axios';
import { BackendRequestError, BackendUnavailableError } from '../errors.js';

/** HTTP 404 from a backend; each driver maps it to its own not-found error. */
export class BackendNotFoundError extends Error {
  constructor(service: string, what: string) {
    super(`${service}: ${what} not found`);
    this.name = 'BackendNotFoundError';
  }
}

function detail(data: unknown): string {
  if (data && typeof data === 'object') {
    const first = Object.values(data as Record<string, unknown>)[0];
    if (first && typeof first === 'object' && 'message' in first) return String((first as { message: unknown }).message);
    if ('message' in data) return String((data as { message: unknown }).message);
  }
  return typeof data === 'string' ? data.slice(0, 200) : '';
}

export function translateHttpError(service: string, what: string, err: unknown): Error {
  if (!isAxiosError(err)) return err instanceof Error ? err : new Error(String(err));
  const status = err.response?.status;
  if (status === undefined) return new BackendUnavailableError(service, err.code ?? 'no response');
  if (status === 404) return new BackendNotFoundError(service, what);
  if (status >= 500) return new BackendUnavailableError(service, `HTTP ${status} ${detail(err.response?.data)}`.trim());
  return new BackendRequestError(service, status, detail(err.response?.data) || what);
}
