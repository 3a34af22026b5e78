/** The store's retry of transient faults (storage/retry.ts): what counts as transient, and the budget. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTransientStoreError, withStoreRetry } from '../../storage/retry.js';
import { MissingArtifactError, StoreUnreachableError } from '../../contracts/errors.js';

const withCode = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:9000`), { code });

test('network errors, 5xx, 429 and throttling are transient; bad input, 4xx and unknown errors are not', () => {
  for (const e of [
    withCode('ECONNREFUSED'),
    withCode('ECONNRESET'),
    new AggregateError([withCode('ECONNREFUSED')]),
    Object.assign(new Error('busy'), { name: 'SlowDown' }),
    Object.assign(new Error('x'), { $metadata: { httpStatusCode: 503 } }),
    Object.assign(new Error('x'), { $metadata: { httpStatusCode: 429 } }),
    new Error('outer', { cause: withCode('ETIMEDOUT') }),
  ]) {
    assert.equal(isTransientStoreError(e), true, String(e));
  }
  for (const e of [new MissingArtifactError('s3://b/k'), Object.assign(new Error('denied'), { $metadata: { httpStatusCode: 403 } }), new Error('something else'), null, 'ECONNREFUSED']) {
    assert.equal(isTransientStoreError(e), false, String(e));
  }
});

test('a transient fault is retried until the operation succeeds; a final one is thrown at once', async () => {
  let calls = 0;
  const out = await withStoreRetry('http://store', 'GET k', async () => {
    calls++;
    if (calls < 3) throw withCode('ECONNREFUSED');
    return 'bytes';
  });
  assert.equal(out, 'bytes');
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(
    withStoreRetry('http://store', 'GET k', async () => {
      calls++;
      throw new MissingArtifactError('s3://b/k');
    }),
    MissingArtifactError,
  );
  assert.equal(calls, 1);
});

test('past the budget the fault becomes StoreUnreachableError naming the endpoint, and is final', async () => {
  const err = await withStoreRetry('http://127.0.0.1:9', 'PUT s3://b/k', () => Promise.reject(withCode('ECONNREFUSED')), 1200).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof StoreUnreachableError);
  assert.match(err.message, /http:\/\/127\.0\.0\.1:9/);
  assert.match(err.message, /PUT s3:\/\/b\/k/);
  assert.equal(err.nonRetryable, true);
});
