// The TroveError family: every error carries its HTTP status and Trove fault name, so one
// middleware (api/middleware/fault.ts) renders them all as {"<faultName>": {code, message}}.

export class TroveError extends Error {
  readonly httpStatus: number = 500;
  readonly faultName: string = 'instanceFault';
  /** false: the message is internal and replaced by a generic one on the wire. */
  readonly expose: boolean = true;
  /** true: a driver error worth retrying (e.g. a 503 from a cloud API). */
  readonly retryable: boolean = false;
  /** Extra top-level keys inside the fault object (e.g. retryAfter for overLimit). */
  readonly extra: Record<string, unknown> = {};

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class BadRequestError extends TroveError {
  override readonly httpStatus = 400;
  override readonly faultName = 'badRequest';
}

/** Trove's `Validation error: …` for a body that does not match its schema. */
export class ValidationError extends BadRequestError {
  constructor(detail: string) {
    super(`Validation error: ${detail}`);
  }
}

export class UnauthorizedError extends TroveError {
  override readonly httpStatus = 401;
  override readonly faultName = 'unauthorized';
}

/** Trove's exception.Forbidden maps to 401 ("User does not have admin privileges."). */
export class AdminRequiredError extends UnauthorizedError {
  constructor() {
    super('User does not have admin privileges.');
  }
}

export class ForbiddenError extends TroveError {
  override readonly httpStatus = 403;
  override readonly faultName = 'forbidden';
}

export class PolicyNotAuthorizedError extends ForbiddenError {
  constructor(action: string) {
    super(`Policy doesn't allow ${action} to be performed.`);
  }
}

export class NotFoundError extends TroveError {
  override readonly httpStatus = 404;
  override readonly faultName = 'itemNotFound';

  /** `new NotFoundError('x')` → "Resource x cannot be found." as Trove's generic NotFound. */
  static resource(id: string | null | undefined): NotFoundError {
    return new NotFoundError(`Resource ${id ?? 'None'} cannot be found.`);
  }
}

export class BadMethodError extends TroveError {
  override readonly httpStatus = 405;
  override readonly faultName = 'badMethod';
}

export class ConflictError extends TroveError {
  override readonly httpStatus = 409;
  override readonly faultName = 'conflict';
}

export class OverLimitError extends TroveError {
  override readonly httpStatus = 413;
  override readonly faultName = 'overLimit';
}

export class RateLimitedError extends OverLimitError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
    Object.assign(this.extra, { retryAfter: String(retryAfterSeconds) });
  }
}

export class QuotaExceededError extends OverLimitError {
  constructor(resources: string[]) {
    super(`Quota exceeded for resources: [${resources.map((r) => `'${r}'`).join(', ')}].`);
  }
}

export class BadMediaTypeError extends TroveError {
  override readonly httpStatus = 415;
  override readonly faultName = 'badMediaType';
}

export class UnprocessableEntityError extends TroveError {
  override readonly httpStatus = 422;
  override readonly faultName = 'unprocessableEntity';
}

export class NotImplementedError extends TroveError {
  override readonly httpStatus = 501;
  override readonly faultName = 'notImplemented';
}

export class ServiceUnavailableError extends TroveError {
  override readonly httpStatus = 503;
  override readonly faultName = 'serviceUnavailable';
  override readonly retryable = true;
}

/** An unexpected failure: 500 instanceFault with a generic message that carries the request id. */
export class InternalError extends TroveError {
  override readonly expose = false;
}

/** A startup configuration problem: the process prints it and exits non-zero. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
