/**
 * Storage errors. Errors with `nonRetryable = true` are bad input (a corrupt or
 * missing artifact that retrying cannot fix); activities turn them into
 * non-retryable Temporal failures. Everything else is treated as transient.
 */
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
