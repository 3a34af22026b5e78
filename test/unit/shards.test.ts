/**
 * Sharded splits: epoch batches over shards (every row once, seeded, deterministic),
 * training on shards (the same weights for the same seed, a resumed run equal to the
 * uninterrupted one, one shard equal to the in-memory path), and preparation under a
 * tiny memory budget (image folders decoded into shards, tables streamed into shards,
 * content-addressed reuse; a streamed table prepares what the in-memory path does).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../../ml/backend/select.js';
import { buildMlp } from '../../ml/models/mlp.js';
import { Rng } from '../../ml/rng.js';
import { EpochBatches } from '../../ml/train/epoch-batches.js';
import { trainClassifier, TrainingStopped, type TrainCheckpoint, type TrainOptions } from '../../ml/train/trainer.js';
import { accuracy } from '../../ml/train/evaluate.js';
import type { DataPart, LabelledData, ShardedData } from '../../ml/train/data.js';
import { prepareData } from '../../activities/data.js';
import { readSplitDataset, readStoredSplit, splitData } from '../../activities/splits.js';
import { clusters, rows } from '../helpers/synthetic.js';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { imageFolder, put, tableRows } from '../helpers/data-files.js';

before(async () => {
  await selectBackend();
});

/** `d` cut into shards of `size` rows, read through `load` (which counts its calls). */
function sharded(d: LabelledData, size: number, asPixels = false): ShardedData & { loads: number } {
  const counts: number[] = [];
  for (let from = 0; from < d.count; from += size) counts.push(Math.min(size, d.count - from));
  const out = {
    count: d.count,
    dim: d.dim,
    classes: d.classes,
    shardCounts: counts,
    loads: 0,
    load: async (i: number): Promise<DataPart> => {
      out.loads++;
      const from = i * size;
      const to = from + counts[i]!;
      const x = d.x.subarray(from * d.dim, to * d.dim);
      return { x: asPixels ? Uint8Array.from(x, (v) => Math.round(v * 255)) : x, y: d.y.subarray(from, to), count: to - from };
    },
  };
  return out;
}

const all = clusters(750, 20, 3, 1);
const data = rows(all, 0, 600);
const val = rows(all, 600, 750);
const opts: TrainOptions = {
  epochs: 3,
  batchSize: 32,
  learningRate: 1e-2,
  schedule: { kind: 'cosine', warmupSteps: 5 },
  optimizer: { name: 'adamw', weightDecay: 1e-3, weightDecayMode: 'decoupled' },
  seed: 3,
  oui: { pairs: 28, every: 2 },
};
const mlp = () => buildMlp({ inputDim: 20, hidden: [32, 16], classes: 3, initializer: 'sinusoidal', seed: 1 });
const sameWeights = (a: TrainCheckpoint, b: TrainCheckpoint, what: string) =>
  a.weights.forEach((w, k) => assert.deepEqual(Buffer.from(w.buffer), Buffer.from(b.weights[k]!.buffer), `${what}: weight ${k}`));

test('an epoch over shards yields every row once, full batches but the last, in a seeded order', async () => {
  const d = sharded(data, 70);
  const orderOf = async (seed: number) => {
    const batches = new EpochBatches(d, Rng.fromSeed(seed));
    const xb = new Float32Array(32 * d.dim);
    const yb = new Int32Array(32);
    const firsts: number[] = [];
    const sizes: number[] = [];
    for (let n = await batches.fill(xb, yb, 32, d.dim); n > 0; n = await batches.fill(xb, yb, 32, d.dim)) {
      sizes.push(n);
      for (let r = 0; r < n; r++) firsts.push(xb[r * d.dim]!);
    }
    return { firsts, sizes };
  };
  const a = await orderOf(5);
  assert.equal(a.sizes.length, Math.ceil(600 / 32));
  assert.ok(a.sizes.slice(0, -1).every((n) => n === 32));
  assert.deepEqual([...a.firsts].sort(), Array.from({ length: 600 }, (_, i) => data.x[i * data.dim]!).sort(), 'every row exactly once');
  assert.deepEqual((await orderOf(5)).firsts, a.firsts, 'same seed, same order');
  assert.notDeepEqual((await orderOf(6)).firsts, a.firsts, 'another seed, another order');
  assert.equal(d.loads, 3 * 9, 'each of the 9 shards read once per epoch');
});

test('training on shards: deterministic for a seed, and one shard trains exactly as the data in memory', async () => {
  const a = await trainClassifier(mlp(), sharded(data, 70), sharded(val, 40), opts);
  const b = await trainClassifier(mlp(), sharded(data, 70), sharded(val, 40), opts);
  sameWeights(a, b, 'two sharded runs');
  assert.ok(a.history.at(-1)!.valAccuracy! > 0.9, `val accuracy ${a.history.at(-1)!.valAccuracy}`);
  const inMemory = await trainClassifier(mlp(), data, val, opts);
  const oneShard = await trainClassifier(mlp(), sharded(data, 600), sharded(val, 150), opts);
  sameWeights(oneShard, inMemory, 'one shard vs in memory');
  assert.deepEqual(
    oneShard.history.map((h) => h.valAccuracy),
    inMemory.history.map((h) => h.valAccuracy),
  );
});

test('uint8 shards train as their pixels scaled to [0, 1] in memory, and evaluate alike', async () => {
  const pixels: LabelledData = { ...data, x: Float32Array.from(data.x, (v) => Math.round(Math.min(1, Math.max(0, (v + 3) / 6)) * 255) / 255) };
  const fromBytes = await trainClassifier(mlp(), sharded(pixels, 600, true), null, opts);
  const fromFloats = await trainClassifier(mlp(), pixels, null, opts);
  sameWeights(fromBytes, fromFloats, 'uint8 shard vs float32 in memory');
  const model = mlp();
  assert.equal(await accuracy(model, sharded(pixels, 64, true)), await accuracy(model, pixels));
});

test('a sharded run resumed from an epoch checkpoint equals the uninterrupted run', async () => {
  const straight = await trainClassifier(mlp(), sharded(data, 70), null, opts);
  let at1: TrainCheckpoint | null = null;
  await assert.rejects(
    trainClassifier(mlp(), sharded(data, 70), null, opts, {
      onEpoch: (_m, c) => {
        at1 = c;
      },
      shouldStop: () => at1 !== null,
    }),
    TrainingStopped,
  );
  const resumed = await trainClassifier(mlp(), sharded(data, 70), null, opts, { resumeFrom: at1! });
  sameWeights(resumed, straight, 'resumed vs straight');
  assert.deepEqual(
    resumed.history.map((h) => h.loss),
    straight.history.map((h) => h.loss),
  );
});

test('under a tiny memory budget an image folder and a table are prepared in shards, and reused', async () => {
  const before = process.env.LIGHTPATH_DATA_MEMORY_MB;
  process.env.LIGHTPATH_DATA_MEMORY_MB = '0.02'; // 20 KB: 2.6 KB shards, 18 images of 12×12
  after(() => (before === undefined ? delete process.env.LIGHTPATH_DATA_MEMORY_MB : (process.env.LIGHTPATH_DATA_MEMORY_MB = before)));
  const store = mkdtempSync(join(tmpdir(), 'lp-shards-store-'));
  const root = mkdtempSync(join(tmpdir(), 'lp-shards-images-'));
  await imageFolder(root, ['a', 'b', 'c'], 60);
  const input = { store, source: root, seed: 4 };
  const prepared = await prepareData(input);
  assert.deepEqual(prepared.counts, { train: 130, val: 14, test: 36 });
  const train = await readStoredSplit(prepared.train);
  assert.ok(train.index, 'the training split is sharded');
  assert.equal(train.index.shards.length, Math.ceil(130 / 18));
  assert.equal(train.index.count, 130);
  const whole = await readSplitDataset(prepared.train);
  assert.equal(whole.count, 130);
  const firstShardLabels = new Set((await readSplitDataset(train.index.shards[0]!)).labels);
  assert.equal(firstShardLabels.size, 3, 'the training split is written in a seeded random order: a shard holds every class');
  const stream = await splitData(prepared.test);
  assert.ok('shardCounts' in stream && stream.shardCounts.reduce((a, b) => a + b, 0) === 36);
  const again = await prepareData(input);
  assert.equal(again.reused, true);
  assert.deepEqual(again.train, prepared.train);

  const table = put(mkdtempSync(join(tmpdir(), 'lp-shards-table-')), 't.csv', tableRows(1500).csv);
  const t = await prepareData({ store, source: table, seed: 4 });
  const tt = await readStoredSplit(t.train);
  assert.ok(tt.index && tt.index.shards.length > 1, 'a table split larger than the budget is sharded');
  const p = tt.index.preprocessing;
  assert.ok(p.kind === 'table' && p.mean.length === 5, 'the index records the standardisation statistics');
  const rowsOfTrain = await readSplitDataset(t.train);
  const mean0 = Array.from({ length: rowsOfTrain.count }, (_, i) => rowsOfTrain.x[i * 5]!).reduce((a, b) => a + b, 0) / rowsOfTrain.count;
  assert.ok(Math.abs(mean0) < 1e-4, `standardised training feature mean ${mean0}`);
});

/** Prepares `source` into a fresh store under a memory budget of `mb` megabytes (unset: the default, far above these tables). */
async function prepareUnder(source: string, mb: string | undefined, seed = 4) {
  const before = process.env.LIGHTPATH_DATA_MEMORY_MB;
  if (mb === undefined) delete process.env.LIGHTPATH_DATA_MEMORY_MB;
  else process.env.LIGHTPATH_DATA_MEMORY_MB = mb;
  try {
    return await prepareData({ store: mkdtempSync(join(tmpdir(), 'lp-shards-store-')), source, seed });
  } finally {
    if (before === undefined) delete process.env.LIGHTPATH_DATA_MEMORY_MB;
    else process.env.LIGHTPATH_DATA_MEMORY_MB = before;
  }
}

/** A split's rows as sorted strings (label, then inputs): its content regardless of order. */
const rowSet = (d: { count: number; x: ArrayLike<number>; labels: ArrayLike<number>; shape: number[] }) =>
  Array.from({ length: d.count }, (_, i) => `${d.labels[i]}:${Array.from({ length: d.shape[0]! }, (_, k) => d.x[i * d.shape[0]! + k]).join(',')}`).sort();

test('a table streamed under a tiny budget prepares the rows and statistics the in-memory path does: CSV, Parquet, several files', async () => {
  const { columns, csv } = tableRows(1500, 7);
  const dir = mkdtempSync(join(tmpdir(), 'lp-shards-stream-'));
  const sources = {
    csv: put(dir, 't.csv', csv),
    // Row groups of 200 rows: the stream reads the file a row group at a time.
    parquet: put(
      dir,
      't.parquet',
      new Uint8Array(
        parquetWriteBuffer({
          columnData: Object.entries(columns).map(([name, data]) => ({ name, data, type: typeof data[0] === 'number' ? ('DOUBLE' as const) : ('STRING' as const) })),
          rowGroupSize: 200,
        }),
      ),
    ),
  };
  const folder = mkdtempSync(join(tmpdir(), 'lp-shards-stream-folder-'));
  put(folder, 'part-0.csv', tableRows(700, 8).csv);
  put(folder, 'part-1.csv', tableRows(500, 9).csv);
  put(folder, 'test.csv', tableRows(300, 10).csv);
  for (const [format, source] of Object.entries({ ...sources, 'a folder of CSV files with its own test file': folder })) {
    const inMemory = await prepareUnder(source, undefined);
    // 0.1 MB: the file is over an eighth of it (streamed), its 1,500 rows of 5 inputs under it (whole splits).
    const streamedWhole = await prepareUnder(source, '0.1');
    for (const split of ['train', 'val', 'test'] as const) {
      assert.equal(streamedWhole[split]!.sha256, inMemory[split]!.sha256, `${format} ${split}: the same bundle, byte for byte`);
    }
    // 0.02 MB: shards of 131 rows (2,621 bytes of 20-byte rows), the training split's in the seeded order.
    const streamed = await prepareUnder(source, '0.02');
    assert.deepEqual(streamed.counts, inMemory.counts);
    assert.deepEqual(streamed.classNames, inMemory.classNames);
    const train = await readStoredSplit(streamed.train);
    assert.ok(train.index && train.index.shards.length === Math.ceil(streamed.counts.train / 131), `${format}: the training split is sharded`);
    assert.equal(new Set((await readSplitDataset(train.index.shards[0]!)).labels).size, 3, `${format}: a shard holds every class`);
    const whole = await readSplitDataset(inMemory.train);
    assert.deepEqual(train.index.preprocessing, whole.preprocessing, `${format}: the same columns and standardisation statistics`);
    assert.deepEqual(rowSet(await readSplitDataset(streamed.train)), rowSet(whole), `${format}: the same training rows`);
    for (const split of ['val', 'test'] as const) {
      const a = await readSplitDataset(streamed[split]!);
      const b = await readSplitDataset(inMemory[split]!);
      assert.deepEqual([a.x, a.labels], [b.x, b.labels], `${format} ${split}: the same rows in the same order`);
    }
  }
});

test('a streamed table refuses bad data as the in-memory path does, naming file, line and column', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lp-shards-bad-'));
  const good = tableRows(400, 2).csv.split('\n');
  const cases: [string, string[], RegExp][] = [
    ['no-label.csv', [good[0]!.replace('label', 'kind'), ...good.slice(1)], /no-label\.csv: no label column "label"/],
    ['text.csv', [...good.slice(0, 300), 'x7,100,red,a', ...good.slice(300)], /text\.csv: line 301, column "f0": "x7" is not a number/],
    ['nan.csv', [...good.slice(0, 300), '1,inf,red,a', ...good.slice(300)], /nan\.csv: line 301, column "f1": "inf" is NaN or infinite/],
    ['missing.csv', [...good.slice(0, 300), '1,2,red,', ...good.slice(300)], /missing\.csv: line 301, column "label": missing label/],
  ];
  for (const [name, lines, message] of cases) {
    const source = put(dir, name, lines.join('\n'));
    await assert.rejects(prepareUnder(source, '0.02'), message, `${name} streamed`);
    await assert.rejects(prepareUnder(source, undefined), message, `${name} in memory`);
  }
});
