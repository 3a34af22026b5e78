/**
 * Bad-input errors raised by ml/: a malformed data file, an impossible model or
 * training setting. `nonRetryable = true` tells the activity layer that a retry
 * cannot help.
 */
export class InvalidInputError extends Error {
  readonly nonRetryable = true;
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInputError';
  }
}
