/**
 * Own data on MinIO through the later stages, on a real dev server, MinIO and workers:
 * a schedule watching an `s3://` prefix consumes a new CSV object (and new PNGs in
 * class folders) exactly once; a federated site whose `--data` is a CSV table on
 * MinIO merges with the run's estimator, and a site whose table has other columns is
 * refused naming the difference.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { useStack, waitForActivityPoller } from '../helpers/services.js';
import { imageFolder, put, tableRows } from '../helpers/data-files.js';
import type { PipelineResult } from '../../contracts/types.js';

const stack = useStack(['cpu', 'gpu']);

/** Writes `body` to `s3://<test bucket>/<key>`; returns the key's URI. */
async function putObject(key: string, body: Uint8Array | string): Promise<string> {
  const bucket = stack.svc.minio.bucket;
  await stack.svc.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return `s3://${bucket}/${key}`;
}

/** Uploads every file below the local folder `root` under the S3 prefix `prefix`. */
async function putFolder(root: string, prefix: string): Promise<void> {
  const files = readdirSync(root, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
  for (const f of files) await putObject(`${prefix}/${relative(root, join(f.parentPath, f.name))}`, readFileSync(join(f.parentPath, f.name)));
}

/** A GLAI pipeline on a small local CSV table (MLP hidden [16], 2 epochs). */
async function csvRun(name: string): Promise<PipelineResult> {
  const data = await mkdtemp(join(tmpdir(), `lp-${name}-`));
  const { handle } = await stack.lp.startPipeline(
    { name, data: { source: put(data, 'churn.csv', tableRows(300).csv) }, model: { hidden: [16] }, train: { epochs: 2, batchSize: 32, learningRate: 0.01 }, glai: { enabled: true } },
    { store: stack.svc.store },
  );
  return handle.result();
}

let base: PipelineResult;

test('a schedule watching an S3 prefix consumes a new CSV object exactly once', { timeout: 600_000 }, async () => {
  base = await csvRun('s3-sched-csv');
  const start = base.glai!.estimator.count;
  const watch = `s3://${stack.svc.minio.bucket}/arrivals/csv`;
  await stack.lp.schedules.create({ scheduleId: 's3-csv-arrivals', from: base.runId, watch, every: '1d', promoteThreshold: 0.2, store: stack.svc.store });

  await putObject('arrivals/csv/day1/new.csv', tableRows(90, 5).csv);
  const first = (await stack.lp.schedules.trigger('s3-csv-arrivals', { wait: true })).run!;
  assert.notEqual(first.outcome, 'no-new-data', JSON.stringify(first));
  assert.deepEqual(first.objects, ['day1/new.csv']);
  assert.equal(first.added, 90);
  assert.equal(first.candidate!.estimator.count, start + 90);
  const again = (await stack.lp.schedules.trigger('s3-csv-arrivals', { wait: true })).run!;
  assert.equal(again.outcome, 'no-new-data', 'consumed once');
});

test('a schedule watching an S3 prefix consumes new PNGs in class folders exactly once', { timeout: 600_000 }, async () => {
  const data = await mkdtemp(join(tmpdir(), 'lp-s3-sched-img-'));
  await imageFolder(data, ['left', 'right'], 20, [[10, 10]]);
  const { handle } = await stack.lp.startPipeline(
    { name: 's3-sched-img', data: { source: data }, model: { hidden: [16] }, train: { epochs: 1, batchSize: 16, learningRate: 0.01 }, glai: { enabled: true } },
    { store: stack.svc.store },
  );
  const run = await handle.result();
  const start = run.glai!.estimator.count;
  await stack.lp.schedules.create({
    scheduleId: 's3-image-arrivals',
    from: run.runId,
    watch: `s3://${stack.svc.minio.bucket}/arrivals/img`,
    every: '1d',
    promoteThreshold: 0.5,
    store: stack.svc.store,
  });

  const local = await mkdtemp(join(tmpdir(), 'lp-s3-new-img-'));
  await imageFolder(local, ['left', 'right'], 3, [[10, 10]]);
  await putFolder(local, 'arrivals/img/batch-1');
  const first = (await stack.lp.schedules.trigger('s3-image-arrivals', { wait: true })).run!;
  assert.notEqual(first.outcome, 'no-new-data', JSON.stringify(first));
  assert.deepEqual(
    [...first.objects].sort(),
    ['left', 'right'].flatMap((c) => [0, 1, 2].map((i) => `batch-1/${c}/000${i}.png`)),
  );
  assert.equal(first.added, 6);
  assert.equal(first.candidate!.estimator.count, start + 6);
  const again = (await stack.lp.schedules.trigger('s3-image-arrivals', { wait: true })).run!;
  assert.equal(again.outcome, 'no-new-data', 'consumed once');
});

test('a federated site whose data is a CSV table on MinIO merges with the run; a site of other columns is refused', { timeout: 600_000 }, async () => {
  base ??= await csvRun('s3-site');
  const count = base.glai!.estimator.count;
  const good = await putObject('sites/north/table.csv', tableRows(120, 7).csv);
  const bad = await putObject('sites/south/table.csv', 'f0,f1,size,label\n1,2,3,a\n4,5,6,b\n');
  stack.spawnWorker(['--role', 'site:north', '--data', good]);
  stack.spawnWorker(['--role', 'site:south', '--data', bad]);
  await Promise.all(['north', 'south'].map((s) => waitForActivityPoller(stack.svc.client, `lightpath-site-${s}`)));

  // No feature map named: the sites fit with the run's estimator's (it is in its reference), so their statistics merge.
  const merge = await stack.lp.startMerge({ from: [base.runId], sites: ['north'], store: stack.svc.store });
  const merged = await merge.handle.result();
  assert.deepEqual(
    merged.sites.map((s) => [s.site, s.status]),
    [['north', 'merged']],
  );
  assert.equal(merged.merged, 2);
  assert.equal(merged.estimator.count, count + 120, 'the run’s samples plus the site’s rows');
  assert.equal(merged.estimator.structureId, base.glai!.structure.id);

  const refused = await (await stack.lp.startMerge({ from: [base.runId], sites: ['south'], maxFailedSites: 1, siteTimeoutSeconds: 120, store: stack.svc.store })).handle.result();
  assert.deepEqual(
    refused.sites.map((s) => [s.site, s.status]),
    [['south', 'failed']],
  );
  assert.match(refused.sites[0]!.error!, /columns differ from the run's: missing colour; extra size/);
  assert.equal(refused.estimator.count, count, 'only the run’s estimator is merged');
});
