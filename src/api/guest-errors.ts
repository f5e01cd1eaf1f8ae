// A guest agent's answer as the API's Trove faults: a missing capability is Trove's 501, a value
// the engine refuses is 400, an unknown log 404 and a log the caller may not see 403 (Trove's
// NotFound / LogAccessForbidden), any other guest failure or a guest that does not answer is 400
// as Trove's GuestError / GuestTimeout are, with the reason in the message.
import { BadRequestError, ForbiddenError, NotFoundError, NotImplementedError, ServiceUnavailableError } from '../common/errors.js';
import { RemoteError, RpcTimeoutError, TransportUnavailableError } from '../rpc/errors.js';
import { GUEST_PREFIX } from '../rpc/topics.js';

export function translateGuestError(err: unknown): unknown {
  if (err instanceof RemoteError) {
    if (err.remoteClass === 'NotSupportedError') return new NotImplementedError(err.message);
    if (err.remoteClass === 'InvalidValueError') return new BadRequestError(err.message);
    if (err.remoteClass === 'LogNotFoundError') return new NotFoundError(err.message);
    if (err.remoteClass === 'LogAccessForbiddenError') return new ForbiddenError(err.message);
    return new BadRequestError(`An error occurred communicating with the guest: ${err.message}`);
  }
  if (err instanceof RpcTimeoutError && err.topic.startsWith(GUEST_PREFIX)) {
    return new BadRequestError(`The guest agent of instance ${err.topic.slice(GUEST_PREFIX.length)} did not answer ${err.method} in time.`);
  }
  if (err instanceof TransportUnavailableError) return new ServiceUnavailableError('The message bus is not reachable; try again later.');
  return err;
}
