// Cloud driver errors as the API's Trove faults.
import { ServiceUnavailableError, TroveError } from '../common/errors.js';
import { BackendRequestError, BackendUnavailableError } from '../clients/errors.js';
import { EndpointNotFoundError } from '../clients/identity.js';

class UpstreamError extends TroveError {
  override readonly httpStatus = 500;
  override readonly faultName = 'serverError';
}

export function translateDriverError(err: unknown): unknown {
  if (err instanceof EndpointNotFoundError) return new ServiceUnavailableError(`${err.message}: the service catalog has no such endpoint.`);
  if (err instanceof BackendUnavailableError) return new ServiceUnavailableError(err.message);
  if (err instanceof BackendRequestError) return new UpstreamError(err.message);
  return err;
}
