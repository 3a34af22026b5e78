/**
 * Every source kind through every GLAI stage, end to end on a real dev server, workers
 * and MinIO, one table row per kind: a GLAI pipeline, an incremental retrain on new data
 * of the same kind (the estimator grows by exactly its samples) and a schedule arrival
 * of new data of that kind (consumed exactly once). Image folders and NumPy `.npz` run
 * from local files; CIFAR-10 batches from MinIO throughout (the retrain reads one batch
 * file, without the names file); Parquet trains and retrains from MinIO and its schedule watches a
 * local folder. CSV, and images on S3, are in own-data*.test.ts and schedule-own-data.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { useStack } from '../helpers/services.js';
import { cifarBatch, featureArrays, imageFolder, npzOf, parquetOf, put, tableRows } from '../helpers/data-files.js';
import { openStore, storeForUri } from '../../storage/open.js';
import { scheduleStateKey, type ScheduleState } from '../../contracts/schedule-state.js';
import type { RunManifest } from '../../storage/manifest.js';
import type { PipelineResult } from '../../contracts/types.js';

const stack = useStack(['cpu', 'gpu']);

/** Writes `body` to `s3://<test bucket>/<key>`; returns the key's URI. */
async function putObject(key: string, body: Uint8Array | string): Promise<string> {
  const bucket = stack.svc.minio.bucket;
  await stack.svc.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return `s3://${bucket}/${key}`;
}

/** Writes `body` as `name` below `where`: a local folder, or an `s3://<bucket>/<prefix>` of the test bucket. */
async function place(where: string, name: string, body: Uint8Array | string): Promise<string> {
  if (!where.startsWith('s3://')) return put(where, name, body);
  return putObject(`${where.replace(/^s3:\/\/[^/]+\//, '')}/${name}`, body);
}

const localFolder = (name: string) => mkdtemp(join(tmpdir(), `lp-kinds-${name}-`));
const minioPrefix = (name: string) => Promise.resolve(`s3://${stack.svc.minio.bucket}/kinds/${name}`);

async function manifestOf(result: PipelineResult): Promise<RunManifest> {
  const key = result.manifest.replace(/^s3:\/\/[^/]+\//, '');
  const bytes = await storeForUri(result.manifest).getNamed(key);
  return JSON.parse(new TextDecoder().decode(bytes!)) as RunManifest;
}

async function state(scheduleId: string): Promise<ScheduleState> {
  const bytes = await openStore(stack.svc.store).getNamed(scheduleStateKey(scheduleId));
  assert.ok(bytes, `state of ${scheduleId} written`);
  return JSON.parse(new TextDecoder().decode(bytes)) as ScheduleState;
}

/** One source kind: where each stage's data lies and how a file of that kind is written. */
interface Kind {
  name: string;
  /** The manifest's `metrics.data.format`. */
  format: string;
  /** Folder or prefix of the pipeline's data, of the retrain's, of the schedule's watch. */
  at: { pipeline: () => Promise<string>; retrain: () => Promise<string>; watch: () => Promise<string> };
  /** Writes the pipeline's data below `root`; returns the source. */
  train(root: string): Promise<string>;
  /** Writes new data of `samples` samples below `root`; returns the retrain source. */
  more(root: string, samples: number): Promise<string>;
  /** Writes new data of `samples` samples below the watched `root`; returns the objects' names relative to it. */
  arrive(root: string, samples: number): Promise<string[]>;
}

const CIFAR10_NAMES = 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n';

const CLASSES = ['a', 'b', 'c'];

/** An arrival of one object, `name` relative to the watch, of `n` samples. */
const oneObject =
  (name: string, body: (n: number) => Uint8Array) =>
  async (root: string, n: number): Promise<string[]> => {
    await place(root, name, body(n));
    return [name];
  };

const KINDS: Kind[] = [
  {
    name: 'image folder (PNG class folders), local throughout',
    format: 'images',
    at: { pipeline: () => localFolder('img-train'), retrain: () => localFolder('img-more'), watch: () => localFolder('img-watch') },
    async train(root) {
      await imageFolder(root, CLASSES, 70);
      return root;
    },
    async more(root, n) {
      await imageFolder(root, CLASSES, n / CLASSES.length);
      return root;
    },
    async arrive(root, n) {
      await imageFolder(root, CLASSES, n / CLASSES.length, [[12, 12]], 1, 'day1/');
      return CLASSES.flatMap((c) => Array.from({ length: n / CLASSES.length }, (_, i) => `day1/${c}/${String(i).padStart(4, '0')}.png`));
    },
  },
  {
    name: 'NumPy .npz, local files throughout',
    format: 'numpy',
    at: { pipeline: () => localFolder('npz'), retrain: () => localFolder('npz-more'), watch: () => localFolder('npz-watch') },
    train: async (root) => place(root, 'train.npz', npzOf(featureArrays(210))),
    more: async (root, n) => place(root, 'more.npz', npzOf(featureArrays(n, 5))),
    arrive: oneObject('day1/new.npz', (n) => npzOf(featureArrays(n, 9))),
  },
  {
    name: 'CIFAR-10 batches, on MinIO throughout',
    format: 'cifar10',
    at: { pipeline: () => minioPrefix('cifar/train'), retrain: () => minioPrefix('cifar/more'), watch: () => minioPrefix('cifar/watch') },
    async train(root) {
      await place(root, 'data_batch_1.bin', cifarBatch(180));
      await place(root, 'test_batch.bin', cifarBatch(60, 2));
      await place(root, 'batches.meta.txt', CIFAR10_NAMES);
      return root;
    },
    // One batch file, without the names file: CIFAR labels are fixed indices, so classes 0…9 are the run's ten (ml/data/cifar.ts).
    more: async (root, n) => place(root, 'data_batch_1.bin', cifarBatch(n, 5)),
    arrive: oneObject('day1/data_batch_7.bin', (n) => cifarBatch(n, 9)),
  },
  {
    name: 'Parquet, pipeline and retrain on MinIO, schedule watching a local folder',
    format: 'parquet',
    at: { pipeline: () => minioPrefix('parquet/train'), retrain: () => minioPrefix('parquet/more'), watch: () => localFolder('parquet-watch') },
    train: async (root) => place(root, 'churn.parquet', parquetOf(tableRows(210).columns)),
    more: async (root, n) => place(root, 'more.parquet', parquetOf(tableRows(n, 5).columns)),
    arrive: oneObject('day1/new.parquet', (n) => parquetOf(tableRows(n, 9).columns)),
  },
];

for (const kind of KINDS) {
  test(`${kind.name}: a GLAI pipeline, a retrain on a new file and a scheduled arrival consumed once`, { timeout: 600_000 }, async () => {
    const { handle } = await stack.lp.startPipeline(
      {
        name: `kinds-${kind.format}`,
        data: { source: await kind.train(await kind.at.pipeline()) },
        model: { kind: 'mlp', hidden: [16] },
        train: { epochs: 2, batchSize: 32, learningRate: 0.02 },
        glai: { enabled: true },
      },
      { store: stack.svc.store },
    );
    const base = await handle.result();
    assert.equal(((await manifestOf(base)).metrics.data as { format: string }).format, kind.format);
    assert.ok(base.glai, 'the run has a GLAI estimator');
    const start = base.glai.estimator.count;
    assert.ok(start > 0, `estimator count ${start}`);
    assert.ok(base.glai.estimatorAccuracy! > 0.5, `GLAI estimator accuracy ${base.glai.estimatorAccuracy} on a learnable task of 3 classes`);

    const retrain = await stack.lp.startRetrain({ from: base.runId, source: await kind.more(await kind.at.retrain(), 60), store: stack.svc.store });
    const updated = await retrain.handle.result();
    assert.equal(updated.added, 60);
    assert.equal(updated.estimator.count, start + 60, 'the estimator grew by exactly the new file’s samples');
    assert.equal(updated.estimator.structureId, base.glai.structure.id, 'the structure is kept');

    const scheduleId = `${kind.format}-arrivals`;
    const watch = await kind.at.watch();
    await stack.lp.schedules.create({ scheduleId, from: base.runId, watch, every: '1d', promoteThreshold: 0.2, store: stack.svc.store });
    const names = await kind.arrive(watch, 45);
    const first = (await stack.lp.schedules.trigger(scheduleId, { wait: true })).run!;
    assert.notEqual(first.outcome, 'no-new-data', JSON.stringify(first));
    assert.deepEqual([...first.objects].sort(), [...names].sort());
    assert.equal(first.added, 45);
    assert.equal(first.candidate!.estimator.count, start + 45);
    const again = (await stack.lp.schedules.trigger(scheduleId, { wait: true })).run!;
    assert.equal(again.outcome, 'no-new-data', 'consumed once');
    const consumed = (await state(scheduleId)).consumed;
    assert.deepEqual(consumed.map((c) => c.name).sort(), [...names].sort(), 'each object recorded once');
    assert.equal(
      consumed.reduce((n, c) => n + c.samples, 0),
      45,
    );
    if (!watch.startsWith('s3://')) await rm(watch, { recursive: true });
  });
}
