/**
 * Error translation for every lightpath activity, as one activity interceptor:
 * errors that carry `nonRetryable = true` (lightpath's error types in
 * contracts/errors.ts: bad config, malformed data, corrupt artifacts) become
 * non-retryable application failures with the same message and type; anything
 * else propagates and is retried.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';

/** Turns a bad-input error into a non-retryable failure. */
const inbound: ActivityInboundCallsInterceptor = {
  async execute(input, next) {
    try {
      return await next(input);
    } catch (e) {
      const err = e as Error & { nonRetryable?: boolean };
      if (err.nonRetryable === true) throw ApplicationFailure.nonRetryable(err.message, err.name);
      throw e;
    }
  },
};

/**
 * The interceptor lightpath's workers (and its plugin) install, acting on the activities named in `activityTypes`
 * only (a worker may also run its owner's activities): bad input is final, the rest is retried.
 */
export function finalBadInput(activityTypes: ReadonlySet<string>): ActivityInterceptorsFactory {
  return (ctx) => (activityTypes.has(ctx.info.activityType) ? { inbound } : {});
}
