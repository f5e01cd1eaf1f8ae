// Errors of the RPC layer: a call that got no answer in time, and an exception raised remotely.
// Both are internal faults (500, message not shown to API users) unless the caller maps them.
import { TroveError } from '../common/errors.js';
import type { Failure } from './envelope.js';
import type { VersionCap } from './contract.js';

export class RpcTimeoutError extends TroveError {
  override readonly expose = false;

  constructor(
    readonly topic: string,
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`Timed out after ${Math.round(timeoutMs / 100) / 10} s waiting for ${method} on ${topic}`);
  }
}

/** A verb newer than what the topic's server takes (its version cap): refused before it is sent,
 * instead of a server that does not know it answering nothing (a cast) or an error (a call). */
export class RpcVersionCapError extends TroveError {
  override readonly httpStatus = 400;
  override readonly faultName = 'badRequest';

  constructor(
    readonly topic: string,
    readonly method: string,
    readonly needed: string,
    readonly cap: VersionCap,
  ) {
    super(`${cap.holder}; ${method} needs RPC ${needed}: ${cap.remedy}.`);
  }
}

/** An exception the server raised; `remoteClass` is its class name there (e.g. NotSupportedError). */
export class RemoteError extends TroveError {
  override readonly expose = false;

  constructor(
    readonly remoteClass: string,
    message: string,
    readonly remoteModule = '',
    readonly remoteArgs: unknown[] = [],
  ) {
    super(message);
  }

  static fromFailure(f: Failure): RemoteError {
    return new RemoteError(f.class, f.message, f.module, f.args);
  }
}

/** No broker could be reached in time (the transport keeps trying while it has consumers). */
export class TransportUnavailableError extends TroveError {
  override readonly expose = false;
  override readonly retryable = true;
}
