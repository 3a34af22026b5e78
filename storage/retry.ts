/**
 * Riding out store outages. A store operation that fails with a transient fault (a
 * network error such as `connect ECONNREFUSED` or a reset connection, an HTTP 5xx,
 * throttling, a timeout) is retried with backoff — 0.5 s doubling to 10 s between
 * tries — for the store retry budget: `LIGHTPATH_STORE_RETRY_SECONDS` of the worker
 * process, default 300 s (5 minutes). The activity waiting meanwhile keeps its
 * place (a training keeps its finished epochs), so an outage shorter than the budget
 * costs no work. Past the budget the operation fails with `StoreUnreachableError`,
 * which names the endpoint and is final (non-retryable): the run fails and
 * `lightpath resume` continues it once the store is back. Anything else — a missing
 * object, a hash mismatch, access denied — is not a transient fault and is thrown at once.
 */
import { StoreUnreachableError } from '../contracts/errors.js';

/** The default store retry budget in seconds (5 minutes). */
export const DEFAULT_STORE_RETRY_SECONDS = 300;

/** The store retry budget in milliseconds: `LIGHTPATH_STORE_RETRY_SECONDS` (a positive number), else 5 minutes. */
export function storeRetryBudgetMs(): number {
  const raw = process.env.LIGHTPATH_STORE_RETRY_SECONDS;
  const s = raw === undefined || raw === '' ? NaN : Number(raw);
  return (Number.isFinite(s) && s > 0 ? s : DEFAULT_STORE_RETRY_SECONDS) * 1000;
}

/** Error codes of network faults that a retry can outlast. */
const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET']);
/** S3 error names that mean "try again later". */
const TRANSIENT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ServiceUnavailable', 'SlowDown', 'InternalError', 'ThrottlingException', 'XMinioServerNotInitialized']);

/** Whether `e` (or an error it wraps) is a transient store fault: a network error, an HTTP 5xx or 429, throttling or a timeout. */
export function isTransientStoreError(e: unknown, depth = 0): boolean {
  if (!e || typeof e !== 'object' || depth > 5) return false;
  const err = e as { nonRetryable?: unknown; code?: unknown; name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number }; $retryable?: unknown; errors?: unknown; cause?: unknown };
  if (err.nonRetryable === true) return false;
  if (typeof err.code === 'string' && TRANSIENT_CODES.has(err.code)) return true;
  if (typeof err.name === 'string' && TRANSIENT_NAMES.has(err.name)) return true;
  const status = err.$metadata?.httpStatusCode;
  if (typeof status === 'number' && (status >= 500 || status === 429)) return true;
  if (err.$retryable) return true;
  if (typeof err.message === 'string' && /socket hang up|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT/.test(err.message)) return true;
  if (Array.isArray(err.errors) && err.errors.some((x) => isTransientStoreError(x, depth + 1))) return true;
  return isTransientStoreError(err.cause, depth + 1);
}

/** A short one-line description of a fault (AggregateErrors carry theirs in `errors`). */
function describe(e: unknown): string {
  const err = e as { message?: string; code?: string; errors?: unknown[] };
  const msg = err?.message || (Array.isArray(err?.errors) && err.errors.length ? describe(err.errors[0]) : '') || err?.code || String(e);
  return msg.split('\n')[0]!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `op` (one store request; `what` names it, e.g. `PUT s3://…`), retrying transient
 * faults with backoff until `budgetMs` has passed since the first failure; then throws
 * `StoreUnreachableError` naming `endpoint`. Other errors are thrown as they are.
 */
export async function withStoreRetry<T>(endpoint: string, what: string, op: () => Promise<T>, budgetMs = storeRetryBudgetMs()): Promise<T> {
  let firstFailure: number | null = null;
  let delay = 500;
  for (;;) {
    try {
      const out = await op();
      if (firstFailure !== null) process.stderr.write(`lightpath store: ${endpoint} reachable again after ${((Date.now() - firstFailure) / 1000).toFixed(1)} s (${what})\n`);
      return out;
    } catch (e) {
      if (!isTransientStoreError(e)) throw e;
      const now = Date.now();
      if (firstFailure === null) {
        firstFailure = now;
        process.stderr.write(`lightpath store: ${endpoint} unreachable (${what}: ${describe(e)}); retrying for up to ${budgetMs / 1000} s\n`);
      }
      const waited = now - firstFailure;
      if (waited >= budgetMs) throw new StoreUnreachableError(endpoint, `${what}: ${describe(e)}`, budgetMs / 1000);
      await sleep(Math.min(delay, budgetMs - waited));
      delay = Math.min(delay * 2, 10_000);
    }
  }
}
