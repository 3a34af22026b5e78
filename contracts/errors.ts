/**
 * lightpath's error types. Every one carries `nonRetryable = true`: it is bad input
 * (a malformed config or data file, a corrupt or missing artifact, an impossible
 * setting) that a retry cannot fix, or a store that stayed unreachable for its whole
 * retry budget (storage/retry.ts), and the activity interceptor turns it into a
 * non-retryable Temporal failure with the same message. Any other error is treated
 * as transient and retried.
 */

/** Thrown for an invalid configuration or request; the message names every bad field. */
export class ConfigError extends Error {
  readonly nonRetryable = true;
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A malformed data file, an impossible model or training setting. */
export class InvalidInputError extends Error {
  readonly nonRetryable = true;
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInputError';
  }
}
/** An artifact whose bytes do not match its reference's SHA-256. */
export class CorruptArtifactError extends Error {
  readonly nonRetryable = true;
  constructor(uri: string, expected: string, actual: string) {
    super(`artifact ${uri} is corrupt: expected sha256 ${expected}, read ${actual}`);
    this.name = 'CorruptArtifactError';
  }
}

/** An artifact that a reference names is not in the store. */
export class MissingArtifactError extends Error {
  readonly nonRetryable = true;
  constructor(uri: string) {
    super(`artifact ${uri} does not exist in the store`);
    this.name = 'MissingArtifactError';
  }
}

/** A URI that no store implementation understands. */
export class BadStoreUriError extends Error {
  readonly nonRetryable = true;
  constructor(uri: string, why: string) {
    super(`store URI ${uri}: ${why}`);
    this.name = 'BadStoreUriError';
  }
}

/** A watch location (where a schedule looks for new data) that cannot be watched. */
export class BadWatchLocationError extends Error {
  readonly nonRetryable = true;
  constructor(watch: string, why: string) {
    super(`watch location ${watch}: ${why}`);
    this.name = 'BadWatchLocationError';
  }
}

/**
 * The artifact store stayed unreachable (network errors, 5xx) for the whole store retry
 * budget (`LIGHTPATH_STORE_RETRY_SECONDS`, storage/retry.ts). Final for the run: it
 * fails naming the endpoint, and `lightpath resume` continues it once the store is back.
 */
export class StoreUnreachableError extends Error {
  readonly nonRetryable = true;
  constructor(
    readonly endpoint: string,
    what: string,
    budgetSeconds: number,
  ) {
    super(`object store ${endpoint} unreachable for ${budgetSeconds} s (the store retry budget, LIGHTPATH_STORE_RETRY_SECONDS): ${what}; continue the run with lightpath resume once it is back`);
    this.name = 'StoreUnreachableError';
  }
}
