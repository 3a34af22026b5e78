import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { LocalStore } from '../../storage/local-store.js';
import { encodeBundle, decodeBundle } from '../../storage/bundle.js';
import { CorruptArtifactError } from '../../contracts/errors.js';

test('local store: content-addressed, idempotent, verified on read', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lp-store-'));
  try {
    const store = new LocalStore(dir);
    const data = new TextEncoder().encode('hello artifacts');
    const ref = await store.put(data);
    assert.equal(ref.sha256, createHash('sha256').update(data).digest('hex'));
    assert.equal(ref.bytes, data.length);
    assert.ok(ref.uri.endsWith(`blobs/sha256/${ref.sha256}`));
    assert.deepEqual(await store.put(data), ref, 'writing the same bytes again gives the same reference');
    assert.deepEqual(Buffer.from(await store.get(ref)), Buffer.from(data));

    const streamed = await store.putStream(Readable.from([Buffer.from('hello '), Buffer.from('artifacts')]));
    assert.deepEqual(streamed, ref, 'streamed write hashes to the same object');

    const listed = [];
    for await (const o of store.list('blobs/')) listed.push(o);
    assert.deepEqual(listed, [{ uri: ref.uri, bytes: ref.bytes }]);

    await writeFile(fileURLToPath(ref.uri), 'tampered bytes!');
    await assert.rejects(store.get(ref), (e: Error) => e instanceof CorruptArtifactError && e.message.includes(ref.uri) && (e as CorruptArtifactError).nonRetryable);
    const s = await store.getStream(ref);
    await assert.rejects(async () => {
      for await (const _ of s) void _;
    }, CorruptArtifactError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('local store: listed URIs of named objects map back to their keys, also with spaces and non-ASCII', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lp store é '));
  try {
    const store = new LocalStore(dir);
    const key = 'runs/run one/train/ü latest.json';
    const data = new TextEncoder().encode('{"epoch":3}');
    const uri = await store.putNamed(key, data);
    const listed = [];
    for await (const o of store.list('runs/')) listed.push(o.uri);
    assert.deepEqual(listed, [uri]);
    assert.equal(store.keyOf(uri), key);
    assert.deepEqual(Buffer.from((await store.getNamed(store.keyOf(uri)))!), Buffer.from(data));
    assert.throws(() => store.keyOf('file:///elsewhere/x.json'), /not inside the local store/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('bundles round-trip metadata and typed arrays, also from a Buffer view', () => {
  const arrays = { a: new Float32Array([1.5, -2, 3]), b: new Int32Array([7, 8]), c: new Uint8Array([1, 2, 3, 4, 5]), d: new Float64Array([Math.PI]) };
  const bytes = encodeBundle({ meta: { x: 1 }, arrays });
  const inPool = Buffer.concat([Buffer.from('padding'), Buffer.from(bytes)]).subarray(7);
  const back = decodeBundle(inPool, 'mem');
  assert.deepEqual(back.meta, { x: 1 });
  for (const [k, v] of Object.entries(arrays)) assert.deepEqual(back.arrays[k], v);
  assert.throws(() => decodeBundle(new Uint8Array(12), 'junk.bin'), /junk\.bin is not a lightpath tensor bundle/);
});
