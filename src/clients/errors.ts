// Errors every driver raises in our terms, whatever the backend said.

/** The backend answered 5xx, timed out or could not be reached: worth retrying. */
export class BackendUnavailableError extends Error {
  readonly retryable = true;
  constructor(service: string, detail: string) {
    super(`${service} is unavailable: ${detail}`);
    this.name = 'BackendUnavailableError';
  }
}

/** The backend refused the request (4xx other than 404). */
export class BackendRequestError extends Error {
  constructor(
    service: string,
    readonly status: number,
    detail: string,
  ) {
    super(`${service} refused the request (${status}): ${detail}`);
    this.name = 'BackendRequestError';
  }
}
