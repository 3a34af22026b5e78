/**
 * Pipelines on a user's own data, on a real dev server with real workers and MinIO:
 * an image folder of two image sizes (resized; a CNN by default), a local CSV table
 * with GLAI and a retrain on a new CSV file (and one of another schema, refused), a
 * Parquet table read from an S3 prefix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { useStack } from '../helpers/services.js';
import { imageFolder, parquetOf, put, tableRows } from '../helpers/data-files.js';
import { storeForUri } from '../../storage/open.js';
import type { RunManifest } from '../../storage/manifest.js';
import type { PipelineResult } from '../../contracts/types.js';
import type { IncrementalRetrainResult } from '../../workflows/glai.js';

const stack = useStack(['cpu', 'gpu']);

async function manifestOf(result: PipelineResult): Promise<RunManifest> {
  const key = result.manifest.replace(/^s3:\/\/[^/]+\//, '');
  const bytes = await storeForUri(result.manifest).getNamed(key);
  return JSON.parse(new TextDecoder().decode(bytes!)) as RunManifest;
}

test('an image folder of two image sizes trains a CNN (the default for images) on the resized images', { timeout: 600_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'lp-images-'));
  await imageFolder(root, ['left', 'middle', 'right'], 40, [
    [12, 12],
    [18, 15],
  ]);
  const { handle } = await stack.lp.startPipeline(
    { name: 'images', data: { source: root, imageSize: [12, 12] }, model: { filters: [4], dense: [16] }, train: { epochs: 3, batchSize: 16, learningRate: 0.01 } },
    { store: stack.svc.store },
  );
  const result = await handle.result();
  const manifest = await manifestOf(result);
  const config = manifest.config as { model: { kind: string }; data: { validationSize: number } };
  assert.equal(config.model.kind, 'cnn', 'images default to a CNN');
  assert.equal(config.data.validationSize, 9, '10 % of the 96 training images');
  const data = manifest.metrics.data as { format: string; inputShape: number[]; classes: string[]; counts: { test: number } };
  assert.equal(data.format, 'images');
  assert.deepEqual(data.inputShape, [12, 12, 1]);
  assert.deepEqual(data.classes, ['left', 'middle', 'right']);
  assert.equal(data.counts.test, 24, 'testFraction 0.2 of 120');
  assert.ok(result.testAccuracy > 0.6, `test accuracy ${result.testAccuracy} on a task a CNN learns`);
});

test('a CSV table trains an MLP with GLAI; a retrain reads a new CSV file the run’s way and refuses another schema', { timeout: 600_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'lp-table-'));
  const file = put(root, 'churn.csv', tableRows(600).csv);
  const { handle } = await stack.lp.startPipeline(
    { name: 'csv', data: { source: file }, model: { hidden: [16, 8] }, train: { epochs: 4, batchSize: 32, learningRate: 0.01 }, glai: { enabled: true } },
    { store: stack.svc.store },
  );
  const result = await handle.result();
  const manifest = await manifestOf(result);
  assert.equal((manifest.config as { model: { kind: string } }).model.kind, 'mlp');
  assert.deepEqual((manifest.metrics.data as { inputShape: number[] }).inputShape, [5]);
  assert.ok(result.testAccuracy > 0.8, `test accuracy ${result.testAccuracy}`);
  assert.ok(result.glai && result.glai.estimatorAccuracy! > 0.7, `GLAI estimator accuracy ${result.glai?.estimatorAccuracy}`);

  const { structure, estimator, test: testSplit } = result.glai!;
  const more = put(root, 'more.csv', tableRows(90, 5).csv);
  const retrain = (source: string) =>
    stack.lp.client.workflow.execute('incrementalRetrain', {
      taskQueue: 'lightpath',
      workflowId: `retrain-csv-${Math.random().toString(36).slice(2)}`,
      args: [{ store: stack.svc.store, structure, previous: estimator, source, test: testSplit }],
    }) as Promise<IncrementalRetrainResult>;
  const updated = await retrain(more);
  assert.equal(updated.added, 90);
  assert.equal(updated.estimator.count, estimator.count + 90);

  const other = put(root, 'other.csv', 'f0,f1,size,label\n1,2,3,a\n');
  await assert.rejects(retrain(other), (e: Error) => {
    assert.ok(e instanceof WorkflowFailedError);
    const cause = e.cause as Error & { cause?: Error };
    assert.match(cause.cause?.message ?? cause.message, /other\.csv: columns differ from the run's: missing colour; extra size/);
    return true;
  });
});

test('a Parquet table from an S3 prefix (two files and a test file) trains', { timeout: 600_000 }, async () => {
  const bucket = stack.svc.minio.bucket;
  const prefix = 'incoming/tables/churn';
  const putObject = (key: string, body: Uint8Array) => stack.svc.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${key}`, Body: body }));
  await putObject('part-0.parquet', parquetOf(tableRows(300, 11).columns));
  await putObject('part-1.parquet', parquetOf(tableRows(300, 12).columns));
  await putObject('test.parquet', parquetOf(tableRows(120, 13).columns));
  const { handle } = await stack.lp.startPipeline(
    { name: 'parquet', data: { source: `s3://${bucket}/${prefix}` }, model: { hidden: [16] }, train: { epochs: 4, batchSize: 32, learningRate: 0.01 } },
    { store: stack.svc.store },
  );
  const result = await handle.result();
  const data = (await manifestOf(result)).metrics.data as { format: string; counts: { train: number; val: number; test: number } };
  assert.equal(data.format, 'parquet');
  assert.deepEqual(data.counts, { train: 540, val: 60, test: 120 });
  assert.ok(result.testAccuracy > 0.8, `test accuracy ${result.testAccuracy}`);
});
