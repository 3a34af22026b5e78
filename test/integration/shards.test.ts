/**
 * A source larger than the workers' memory budget, on a real dev server with real
 * workers and MinIO: a budget of 20 KB (`LIGHTPATH_DATA_MEMORY_MB`, inherited by the
 * spawned workers) forces an image folder of 180 images into shards of 18, and tables
 * (a local CSV, Parquet files under an S3 prefix, read by byte ranges) into streamed
 * preparation and shards of 131 rows; each pipeline prepares its shards, trains on them
 * shard by shard and evaluates on the test split.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useStack } from '../helpers/services.js';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { imageFolder, parquetOf, put, tableRows } from '../helpers/data-files.js';
import { storeForUri } from '../../storage/open.js';
import { readStoredSplit } from '../../activities/splits.js';
import type { Ref } from '../../contracts/types.js';
import type { RunManifest } from '../../storage/manifest.js';

process.env.LIGHTPATH_DATA_MEMORY_MB = '0.02';
const stack = useStack(['cpu', 'gpu']);

test('an image folder over the memory budget is prepared, trained on and evaluated shard by shard', { timeout: 600_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'lp-shards-'));
  await imageFolder(root, ['left', 'middle', 'right'], 60);
  const { handle } = await stack.lp.startPipeline(
    { name: 'shards', data: { source: root }, model: { filters: [4], dense: [16] }, train: { epochs: 3, batchSize: 16, learningRate: 0.01 } },
    { store: stack.svc.store },
  );
  const result = await handle.result();
  const key = result.manifest.replace(/^s3:\/\/[^/]+\//, '');
  const manifest = JSON.parse(new TextDecoder().decode((await storeForUri(result.manifest).getNamed(key))!)) as RunManifest;
  const data = manifest.metrics.data as { counts: { train: number; val: number; test: number } };
  assert.deepEqual(data.counts, { train: 130, val: 14, test: 36 });
  const split = (name: string) => readStoredSplit(manifest.artifacts.find((a) => a.name === `dataset-${name}`)!.ref);
  const train = await split('train');
  assert.ok(train.index, 'the training split is sharded');
  assert.equal(train.index.shards.length, 8, '130 images in shards of 18');
  assert.ok((await split('test')).index, 'the test split is sharded');
  assert.equal(result.history.length, 3);
  assert.ok(result.testAccuracy > 0.6, `test accuracy ${result.testAccuracy} on a task a CNN learns`);
});

test('tables over the memory budget (a local CSV, Parquet on S3) are streamed into shards, trained on and evaluated', { timeout: 600_000 }, async () => {
  const bucket = stack.svc.minio.bucket;
  const prefix = 'incoming/shards/table';
  const putObject = (key: string, body: Uint8Array) => stack.svc.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${key}`, Body: body }));
  await putObject('part-0.parquet', parquetOf(tableRows(800, 21).columns));
  await putObject('part-1.parquet', parquetOf(tableRows(800, 22).columns));
  await putObject('test.parquet', parquetOf(tableRows(300, 23).columns));
  const sources = {
    csv: { source: put(mkdtempSync(join(tmpdir(), 'lp-shards-csv-')), 'churn.csv', tableRows(1500, 24).csv), counts: { train: 1080, val: 120, test: 300 } },
    parquet: { source: `s3://${bucket}/${prefix}`, counts: { train: 1440, val: 160, test: 300 } },
  };
  for (const [format, { source, counts }] of Object.entries(sources)) {
    const { handle } = await stack.lp.startPipeline(
      { name: `shards-${format}`, data: { source }, model: { hidden: [16] }, train: { epochs: 4, batchSize: 32, learningRate: 0.01 } },
      { store: stack.svc.store },
    );
    const result = await handle.result();
    const key = result.manifest.replace(/^s3:\/\/[^/]+\//, '');
    const manifest = JSON.parse(new TextDecoder().decode((await storeForUri(result.manifest).getNamed(key))!)) as RunManifest;
    const data = manifest.metrics.data as { format: string; counts: { train: number; val: number; test: number } };
    assert.equal(data.format, format);
    assert.deepEqual(data.counts, counts);
    const split = (name: string) => readStoredSplit(manifest.artifacts.find((a) => a.name === `dataset-${name}`)!.ref as Ref);
    const train = await split('train');
    assert.ok(train.index, `${format}: the training split is sharded`);
    assert.equal(train.index.shards.length, Math.ceil(counts.train / 131), `${format}: ${counts.train} rows in shards of 131`);
    assert.ok(train.index.preprocessing.kind === 'table' && train.index.preprocessing.mean.length === 5, `${format}: standardisation statistics recorded`);
    assert.ok((await split('test')).index, `${format}: the test split is sharded`);
    assert.ok(result.testAccuracy > 0.8, `${format}: test accuracy ${result.testAccuracy}`);
  }
});
