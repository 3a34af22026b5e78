/** The suite's secret scanner (test/helpers/secret-scan.ts) finds a registered secret wherever it hides: plain text, encoded payloads, nested events. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registerSecret, scanText, scanValue, totals } from '../helpers/secret-scan.js';

test('the scanner finds a registered secret in text and in a Temporal payload nested in an event, and nothing else', () => {
  const secret = `probe-${Math.random().toString(36).slice(2)}-secret`;
  registerSecret(secret);
  const before = totals.hits.length;
  scanText('a log line without it', 'log');
  scanValue(
    { eventId: 7, attributes: { input: { payloads: [{ metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new TextEncoder().encode('{"store":"s3://b"}') }] } } },
    'clean event',
  );
  assert.equal(totals.hits.length, before, 'no false positive');
  scanText(`x-amz-secret: ${secret}`, 'log');
  scanValue({ eventId: 8, failure: { cause: { encodedAttributes: { data: new TextEncoder().encode(JSON.stringify({ message: `bad key ${secret}` })) } } } }, 'event 8');
  assert.deepEqual(totals.hits.slice(before), [`log (a secret of ${secret.length} characters)`, `event 8 (a secret of ${secret.length} characters)`]);
  totals.hits.splice(before);
});
