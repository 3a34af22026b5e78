/**
 * The pipeline end to end on a real Temporal dev server and real MinIO: the run
 * completes in Temporal's history, every artifact is in MinIO with a matching
 * SHA-256, and bad input (a malformed IDX file, a bad config) fails clearly and
 * without retries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, copyFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError, ActivityFailure, ApplicationFailure } from '@temporalio/client';
import { useStack } from '../helpers/services.js';
import { cli } from '../helpers/cli.js';
import { ConfigError } from '../../contracts/errors.js';
import { findFashionMnist, FASHION_MNIST_FILES } from '../../ml/data/fashion-mnist.js';
import type { RunManifest } from '../../storage/manifest.js';
import { storeForUri } from '../../storage/open.js';
import { getModel } from '../../storage/model-files.js';
import { modelFromParts } from '../../ml/models/io.js';

const stack = useStack(['cpu', 'gpu']);

async function s3Sha256(uri: string): Promise<{ sha256: string; bytes: number }> {
  const [, bucket, ...key] = uri.replace('s3://', '/').split('/');
  const out = await stack.svc.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key.join('/') }));
  const data = await out.Body!.transformToByteArray();
  return { sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length };
}

test('trainPipeline completes; artifacts are in MinIO with matching SHA-256', async () => {
  const { runId, handle } = await stack.lp.startPipeline({ name: 'itest', model: { hidden: [64] }, train: { epochs: 2 } }, { store: stack.svc.store });
  const result = await handle.result();
  assert.equal(result.runId, runId);
  assert.ok(result.testAccuracy > 0.8, `test accuracy ${result.testAccuracy}`);
  assert.equal(result.history.length, 2);
  assert.match(result.backend, /^wasm(\+openblas)?$/, 'CPU training on wasm, with the native BLAS provider where it built');

  const desc = await handle.describe();
  assert.equal(desc.status.name, 'COMPLETED');
  const history = await handle.fetchHistory();
  const types = history.events!.map((e) => e.eventType);
  assert.equal(String(types.at(-1)), String(2), 'last event is WorkflowExecutionCompleted'); // EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED = 2
  assert.deepEqual(await stack.lp.progress(runId).then((p) => p.stage), 'done');

  assert.ok(result.manifest.startsWith(`${stack.svc.store}/runs/${runId}/`), result.manifest);
  const manifestBytes = await storeForUri(result.manifest).getNamed(`lightpath/runs/${runId}/manifest.json`);
  const manifest = JSON.parse(new TextDecoder().decode(manifestBytes!)) as RunManifest;
  assert.equal(manifest.status, 'completed');
  assert.equal(manifest.backend, result.backend);
  assert.equal(manifest.seed, 42);
  assert.deepEqual(
    manifest.artifacts.map((a) => `${a.stage}/${a.name}`),
    ['prepare/dataset-train', 'prepare/dataset-val', 'prepare/dataset-test', 'initialize/model.json', 'initialize/weights.bin', 'train/model.json', 'train/weights.bin', 'train/checkpoint'],
  );
  for (const a of manifest.artifacts) {
    assert.ok(a.ref.uri.startsWith(`s3://${stack.svc.minio.bucket}/`), a.ref.uri);
    assert.deepEqual(await s3Sha256(a.ref.uri), { sha256: a.ref.sha256, bytes: a.ref.bytes }, `${a.stage}/${a.name}`);
  }
  const model = await modelFromParts(await getModel(storeForUri(result.model.model.uri), result.model));
  assert.deepEqual(model.outputs[0]!.shape, [null, 10]);
  model.dispose();
});

test('a malformed IDX file fails the run at once with an error naming the file', async () => {
  const src = findFashionMnist()!;
  const dir = await mkdtemp(join(tmpdir(), 'lp-badidx-'));
  try {
    for (const f of Object.values(FASHION_MNIST_FILES)) await copyFile(join(src, f), join(dir, f));
    const bad = join(dir, FASHION_MNIST_FILES.trainLabels);
    const raw = Buffer.alloc(8 + 100);
    raw.writeUInt32BE(0x00000801, 0);
    raw.writeUInt32BE(60000, 4);
    await writeFile(bad, raw);
    const { handle } = await stack.lp.startPipeline({ name: 'badidx', data: { source: dir } }, { store: stack.svc.store });
    const err = await handle.result().then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    const activityFailure = err.cause;
    assert.ok(activityFailure instanceof ActivityFailure);
    const cause = activityFailure.cause;
    assert.ok(cause instanceof ApplicationFailure);
    assert.equal(cause.nonRetryable, true);
    assert.match(cause.message, new RegExp(`${bad}: header declares shape \\[60000\\] = 60000 values but the file holds 100`));
    const history = await handle.fetchHistory();
    const events = history.events!;
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'prepareData');
    assert.equal(scheduled.length, 1);
    const started = events.filter((e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduled[0]!.eventId!.toString());
    assert.equal(started.length, 1);
    assert.equal(started[0]!.activityTaskStartedEventAttributes!.attempt, 1, 'not retried');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a bad config is refused before anything starts, naming the field', async () => {
  const count = async () => (await stack.lp.client.workflow.count()).count;
  const before = await count();
  await assert.rejects(
    stack.lp.startPipeline({ train: { epochs: 0, learningRate: 'fast' } }),
    (e: Error) => e instanceof ConfigError && /train\.epochs/.test(e.message) && /train\.learningRate/.test(e.message),
  );
  const dir = await mkdtemp(join(tmpdir(), 'lp-badcfg-'));
  try {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'name: x\nmodel:\n  hidden: [64, -3]\n');
    const r = await cli(['run', file], { TEMPORAL_ADDRESS: stack.svc.temporal.address });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /bad\.yaml: model\.hidden\.1: /);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.equal(await count(), before, 'no workflow was started');
});

test('lightpath run <config.yaml> runs a pipeline on the cluster and prints the result', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lp-cli-'));
  try {
    const file = join(dir, 'p.yaml');
    await writeFile(file, 'name: cli\nmodel:\n  hidden: [32]\ntrain:\n  epochs: 1\n');
    const out = await cli(['run', file, '--json'], { TEMPORAL_ADDRESS: stack.svc.temporal.address, LIGHTPATH_STORE: stack.svc.store });
    assert.equal(out.status, 0, out.stderr);
    const r = JSON.parse(out.stdout) as { runId: string; testAccuracy: number; manifest: string };
    assert.match(r.runId, /^lightpath-train-cli-/);
    assert.ok(r.testAccuracy > 0.7, `accuracy ${r.testAccuracy}`);
    assert.ok(r.manifest.startsWith(stack.svc.store), r.manifest);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
