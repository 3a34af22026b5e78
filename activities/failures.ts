/**
 * Error translation for activities: errors that carry `nonRetryable = true` (bad
 * config, malformed data, corrupt artifacts) become non-retryable application
 * failures with the same message; anything else propagates and is retried.
 */
import { ApplicationFailure } from '@temporalio/activity';

/** Runs `fn`, turning bad-input errors into `ApplicationFailure.nonRetryable`. */
export async function badInputIsFinal<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const err = e as Error & { nonRetryable?: boolean };
    if (err.nonRetryable === true) throw ApplicationFailure.nonRetryable(err.message, err.name);
    throw e;
  }
}
