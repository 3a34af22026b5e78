/** The S3 artifact store against a real MinIO: content addressing, multipart streaming, verification. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startMinio, type MinioServer } from '../../cli/dev-services.js';
import { S3Store } from '../../storage/s3-store.js';
import { CorruptArtifactError, MissingArtifactError } from '../../contracts/errors.js';
import { readManifest, writeManifest, type RunManifest } from '../../storage/manifest.js';

let minio: MinioServer;
let store: S3Store;
let s3: S3Client;

before(async () => {
  minio = await startMinio('artifacts');
  Object.assign(process.env, minio.env);
  store = new S3Store({ bucket: 'artifacts', prefix: 'team/a', endpoint: minio.endpoint });
  s3 = new S3Client({ endpoint: minio.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey } });
});

after(async () => {
  s3?.destroy();
  await minio?.stop();
});

test('put/get/stat/list, content-addressed under the prefix', async () => {
  const data = randomBytes(1000);
  const ref = await store.put(data);
  assert.equal(ref.uri, `s3://artifacts/team/a/blobs/sha256/${createHash('sha256').update(data).digest('hex')}`);
  assert.deepEqual(await store.put(data), ref);
  assert.deepEqual(Buffer.from(await store.get(ref)), data);
  assert.deepEqual(await store.stat(ref.uri), { bytes: 1000 });
  assert.equal(await store.stat('s3://artifacts/team/a/blobs/sha256/0000'), null);
  const listed = [];
  for await (const o of store.list('blobs/')) listed.push(o);
  assert.deepEqual(listed, [{ uri: ref.uri, bytes: 1000 }]);
  await assert.rejects(store.get({ ...ref, uri: 's3://artifacts/team/a/blobs/sha256/0000' }), MissingArtifactError);
});

test('a 12 MiB stream goes up as a multipart upload and reads back verified', async () => {
  const chunks = Array.from({ length: 12 }, () => randomBytes(1 << 20));
  const all = Buffer.concat(chunks);
  const ref = await store.putStream(Readable.from(chunks));
  assert.equal(ref.sha256, createHash('sha256').update(all).digest('hex'));
  assert.equal(ref.bytes, all.length);
  const back: Buffer[] = [];
  for await (const c of await store.getStream(ref)) back.push(c as Buffer);
  assert.ok(Buffer.concat(back).equals(all));
  const leftovers = [];
  for await (const o of store.list('tmp/')) leftovers.push(o);
  assert.deepEqual(leftovers, [], 'the temporary upload key is removed');
});

test('a corrupted object is detected on read, whole or streamed', async () => {
  const ref = await store.put(Buffer.from('original bytes'));
  await s3.send(new PutObjectCommand({ Bucket: 'artifacts', Key: ref.uri.slice('s3://artifacts/'.length), Body: 'tampered bytes' }));
  await assert.rejects(store.get(ref), (e: Error) => e instanceof CorruptArtifactError && e.message.includes(ref.uri));
  await assert.rejects(async () => {
    for await (const _ of await store.getStream(ref)) void _;
  }, CorruptArtifactError);
});

test('run manifests are written and read back by run id', async () => {
  const m: RunManifest = {
    runId: 'r1',
    workflowId: 'r1',
    pipeline: 'trainPipeline',
    status: 'completed',
    startedAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:01:00Z',
    config: {},
    seed: 1,
    backend: 'wasm',
    versions: { lightpath: '0' },
    artifacts: [],
    metrics: {},
  };
  assert.equal(await writeManifest(store, m), 's3://artifacts/team/a/runs/r1/manifest.json');
  assert.deepEqual(await readManifest(store, 'r1'), m);
  assert.equal(await readManifest(store, 'nope'), null);
});
