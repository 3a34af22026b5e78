/**
 * `npm run bench:glai`: GLAI on Fashion-MNIST with an MLP selector (METHODS.md §3).
 *
 * 1. Stabilization: per-epoch pattern change (probe set) vs relative weight change,
 *    and the epoch each settles under a threshold.
 * 2. Estimator vs selector: one-pass statistics estimator, linear SGD and the deep
 *    gated value network, test accuracy; statistics/solve time and memory by D.
 * 3. Incremental retraining: 50 % then 5 shards of 10 %; GLAI statistics update per
 *    shard vs retraining the DNN from scratch on all data seen so far.
 * 4. Merge of 3 and 10 sites vs central: weight difference, accuracy, merge cost
 *    as data grows; SGD and value-network merges by weighted averaging.
 * 5. Feasible feature dimension: memory of A and B, statistics time per 1,000
 *    samples and solve time for D up to 8,192 (random features).
 *
 * Writes bench/results/glai.json and glai-*.svg. Not a test.
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend } from '../ml/backend/select.js';
import { buildModel, type ModelSpec } from '../ml/models/build.js';
import { trainClassifier, type TrainOptions } from '../ml/train/trainer.js';
import { loadFashionMnist } from '../ml/data/fashion-mnist.js';
import { imagesToData } from '../ml/data/images.js';
import { Rng } from '../ml/rng.js';
import { modelToParts } from '../ml/models/io.js';
import { selectorWeights, structureId, type SelectorWeights } from '../ml/glai/selector.js';
import { featureDim, type FeatureSpec } from '../ml/glai/features.js';
import { accumulateStats, addStats, emptyStats, solveStats, type LinearStats } from '../ml/glai/statistics.js';
import { nativeBlas } from '../ml/backend/native/addon.js';
import { accuracyOf, linearLogits, trainLinearSgd, trainValueNetwork, valueLogits, valueWeightsFromSelector, weightedAverage, type ValueWeights } from '../ml/glai/estimator.js';
import { settledEpoch } from '../ml/glai/settled.js';
import { DEFAULT_STABILITY } from '../ml/glai/stabilization.js';
import type { LabelledData } from '../ml/train/data.js';
import { writeSvg } from './plot.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    epochs: { type: 'string', default: '10' },
    hidden: { type: 'string', default: '64,32' },
    'sgd-epochs': { type: 'string', default: '2' },
    lambda: { type: 'string', default: '1e-3' },
  },
});
const quick = args.quick!;
const epochs = quick ? 2 : Number(args.epochs);
const sgdEpochs = quick ? 1 : Number(args['sgd-epochs']);
const hidden = args.hidden!.split(',').map(Number);
const lambda = Number(args.lambda);
const outDir = join(import.meta.dirname, 'results');
mkdirSync(outDir, { recursive: true });
const SHAPE: [number, number, number] = [28, 28, 1];
const SEED = 42;
const spec: ModelSpec = { kind: 'mlp', hidden, filters: [], dense: [], channels: [], initializer: 'sinusoidal' };
const options: TrainOptions = {
  epochs,
  batchSize: 128,
  learningRate: 1e-3,
  schedule: { kind: 'cosine', warmupSteps: 0 },
  optimizer: { name: 'adamw', weightDecay: 1e-4, weightDecayMode: 'decoupled' },
  seed: SEED,
  oui: { pairs: 28, every: 0 },
  stability: { ...DEFAULT_STABILITY, probe: 512 },
};

const backend = await selectBackend();
const fm = await loadFashionMnist();
const limit = quick ? 6000 : fm.train.count;
const order = Rng.fromSeed(SEED)
  .shuffle(Int32Array.from({ length: fm.train.count }, (_, i) => i))
  .subarray(0, limit);
const train = imagesToData(fm.train, 10, order);
const test = imagesToData(fm.test, 10, quick ? Array.from({ length: 2000 }, (_, i) => i) : undefined);
console.log(`backend ${backend.name}; selector 784-${hidden.join('-')}-10, ${epochs} epochs; train ${train.count}, test ${test.count}`);

const seconds = (t0: number) => (performance.now() - t0) / 1000;
const rowsOf = (d: LabelledData, from: number, to: number): LabelledData => ({ ...d, x: d.x.subarray(from * d.dim, to * d.dim), y: d.y.subarray(from, to), count: to - from });

/** Trains a selector on `data`; returns it with its weights, structure id, history and time. */
async function trainSelector(data: LabelledData) {
  const model = buildModel(spec, SHAPE, 10, SEED);
  const t0 = performance.now();
  const final = await trainClassifier(model, data, null, options);
  const trainSeconds = seconds(t0);
  return { model, weights: selectorWeights(model), id: structureId(await modelToParts(model)), history: final.history, trainSeconds };
}

/** One-pass statistics on `data` (from zero), timed. */
async function statsOf(w: SelectorWeights, id: string, fspec: FeatureSpec, data: LabelledData): Promise<{ stats: LinearStats; seconds: number }> {
  const t0 = performance.now();
  const stats = await accumulateStats(emptyStats(id, fspec, featureDim(w, fspec), 10), w, data);
  return { stats, seconds: seconds(t0) };
}

async function estimatorAccuracy(w: SelectorWeights, fspec: FeatureSpec, u: ArrayLike<number>, dim: number): Promise<number> {
  const t = tf.tensor2d(Float32Array.from(u), [dim, 10]);
  const acc = await accuracyOf(test, (x) => linearLogits(w, fspec, t, x));
  t.dispose();
  return acc;
}

async function valueAccuracy(w: SelectorWeights, v: ValueWeights): Promise<number> {
  const kernels = v.kernels.map((k, l) => tf.tensor2d(k, w.kernels[l]!.shape));
  const biases = v.biases.map((b) => tf.tensor1d(b));
  const acc = await accuracyOf(test, (x) => valueLogits(w, kernels, biases, x));
  tf.dispose([...kernels, ...biases]);
  return acc;
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / s;
}

const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
const sgd = { epochs: sgdEpochs, batchSize: 128, learningRate: 1e-3, seed: SEED };

// 1. Stabilization (and the selector every later section uses).
console.log('\n1. structure vs weight stabilization');
const sel = await trainSelector(train);
const fspec: FeatureSpec = { valueLayer: 0, gateLayer: hidden.length - 1 };
const D = featureDim(sel.weights, fspec);
const selectorAccuracy = await accuracyOf(test, (x) => sel.model.apply(x) as tf.Tensor2D);
const thresholds = [0.05, 0.02, 0.01];
const settled = thresholds.map((t) => {
  const patterns = settledEpoch(
    sel.history.map((h) => h.patternChange),
    t,
  );
  const weights = settledEpoch(
    sel.history.map((h) => h.weightChange),
    t,
  );
  return { threshold: t, patterns, weights, ratio: patterns && weights ? weights / patterns : null };
});
for (const h of sel.history) console.log(`  epoch ${String(h.epoch).padStart(2)}  pattern change ${h.patternChange!.toFixed(4)}  weight change ${h.weightChange!.toFixed(4)}`);
for (const s of settled) console.log(`  threshold ${s.threshold}: patterns settle at epoch ${s.patterns ?? '—'}, weights at ${s.weights ?? '—'}${s.ratio ? ` (${s.ratio.toFixed(2)}× later)` : ''}`);

// 2. Estimators vs selector.
console.log(`\n2. estimators vs selector (D = ${D})`);
const central = await statsOf(sel.weights, sel.id, fspec, train);
let t0 = performance.now();
const centralW = solveStats(central.stats, lambda);
const solveSeconds = seconds(t0);
const statsAccuracy = await estimatorAccuracy(sel.weights, fspec, centralW, D);
t0 = performance.now();
const sgdW = await trainLinearSgd(sel.weights, fspec, new Float32Array(D * 10), train, sgd);
const sgdSeconds = seconds(t0);
const sgdAccuracy = await estimatorAccuracy(sel.weights, fspec, sgdW, D);
const v0 = await valueWeightsFromSelector(sel.weights);
const valueAtInit = await valueAccuracy(sel.weights, v0);
t0 = performance.now();
const vCentral = await trainValueNetwork(sel.weights, v0, train, sgd);
const valueSeconds = seconds(t0);
const valueNetAccuracy = await valueAccuracy(sel.weights, vCentral);
const estimators = {
  featureDim: D,
  statsBytes: central.stats.a.byteLength + central.stats.b.byteLength,
  selector: { accuracy: selectorAccuracy, trainSeconds: sel.trainSeconds },
  statistics: { accuracy: statsAccuracy, accumulateSeconds: central.seconds, solveSeconds },
  linearSgd: { accuracy: sgdAccuracy, seconds: sgdSeconds, epochs: sgdEpochs },
  valueNetwork: { accuracy: valueNetAccuracy, accuracyAtInit: valueAtInit, seconds: valueSeconds, epochs: sgdEpochs },
};
console.log(`  selector            ${pct(selectorAccuracy)}  (trained ${sel.trainSeconds.toFixed(0)} s)`);
console.log(`  statistics (ridge)  ${pct(statsAccuracy)}  (one pass ${central.seconds.toFixed(1)} s + solve ${solveSeconds.toFixed(1)} s; A+B ${(estimators.statsBytes / 2 ** 20).toFixed(0)} MiB)`);
console.log(`  linear SGD          ${pct(sgdAccuracy)}  (${sgdEpochs} epochs, ${sgdSeconds.toFixed(0)} s)`);
console.log(`  value network       ${pct(valueNetAccuracy)}  (${sgdEpochs} epochs from the selector, ${valueSeconds.toFixed(0)} s; at init ${pct(valueAtInit)})`);

// 3. Incremental retraining.
console.log('\n3. incremental retraining: 50 % then 5 shards of 10 %');
const half = Math.floor(train.count / 2);
const shardSize = Math.floor((train.count - half) / 5);
const base = await trainSelector(rowsOf(train, 0, half));
const baseStats = (await statsOf(base.weights, base.id, fspec, rowsOf(train, 0, half))).stats;
const incremental: { shard: number; seen: number; glaiSeconds: number; glaiAccuracy: number; dnnSeconds: number; dnnAccuracy: number }[] = [];
let stats = baseStats;
for (let k = 1; k <= 5; k++) {
  const from = half + (k - 1) * shardSize;
  const seen = half + k * shardSize;
  t0 = performance.now();
  stats = await accumulateStats(stats, base.weights, rowsOf(train, from, seen));
  const w = solveStats(stats, lambda);
  const glaiSeconds = seconds(t0);
  const glaiAccuracy = await estimatorAccuracy(base.weights, fspec, w, D);
  const dnn = await trainSelector(rowsOf(train, 0, seen));
  const dnnAccuracy = await accuracyOf(test, (x) => dnn.model.apply(x) as tf.Tensor2D);
  dnn.model.dispose();
  incremental.push({ shard: k, seen, glaiSeconds, glaiAccuracy, dnnSeconds: dnn.trainSeconds, dnnAccuracy });
  console.log(`  shard ${k} (seen ${seen}): GLAI update ${glaiSeconds.toFixed(1)} s → ${pct(glaiAccuracy)}; DNN retrain ${dnn.trainSeconds.toFixed(1)} s → ${pct(dnnAccuracy)}`);
}
const glaiTotal = incremental.reduce((s, r) => s + r.glaiSeconds, 0);
const dnnTotal = incremental.reduce((s, r) => s + r.dnnSeconds, 0);
const last = incremental.at(-1)!;
console.log(
  `  total: GLAI ${glaiTotal.toFixed(1)} s vs DNN ${dnnTotal.toFixed(1)} s → ${(dnnTotal / glaiTotal).toFixed(1)}× less time; final accuracy ${pct(last.glaiAccuracy)} vs ${pct(last.dnnAccuracy)} (${((last.glaiAccuracy - last.dnnAccuracy) * 100).toFixed(2)} points)`,
);
base.model.dispose();

// 4. Merge across sites.
console.log('\n4. merge of K sites (disjoint shards) vs central');
const merges: { sites: number; maxRelDiff: number; accuracy: number; siteSeconds: number; mergeSeconds: number }[] = [];
const mergeCost: { sites: number; samples: number; mergeSeconds: number }[] = [];
for (const K of [3, 10]) {
  const parts: LinearStats[] = [];
  let siteSeconds = 0;
  for (let k = 0; k < K; k++) {
    const r = await statsOf(sel.weights, sel.id, fspec, rowsOf(train, Math.floor((k * train.count) / K), Math.floor(((k + 1) * train.count) / K)));
    parts.push(r.stats);
    siteSeconds = Math.max(siteSeconds, r.seconds);
  }
  t0 = performance.now();
  const w = solveStats(addStats(parts), lambda);
  const mergeSeconds = seconds(t0);
  const m = { sites: K, maxRelDiff: maxRel(w, centralW), accuracy: await estimatorAccuracy(sel.weights, fspec, w, D), siteSeconds, mergeSeconds };
  merges.push(m);
  console.log(
    `  ${K} sites: max rel. weight difference ${m.maxRelDiff.toExponential(2)}, accuracy ${pct(m.accuracy)} (central ${pct(statsAccuracy)}); slowest site ${siteSeconds.toFixed(1)} s, merge+solve ${mergeSeconds.toFixed(2)} s`,
  );
  if (K === 10) {
    for (let k = 2; k <= 10; k += 2) {
      const sub = parts.slice(0, k);
      t0 = performance.now();
      solveStats(addStats(sub), lambda);
      mergeCost.push({ sites: k, samples: sub.reduce((s, p) => s + p.count, 0), mergeSeconds: seconds(t0) });
    }
    console.log(`  merge+solve cost as data grows: ${mergeCost.map((c) => `${c.samples} samples ${c.mergeSeconds.toFixed(2)} s`).join(', ')}`);
  }
}
const averaged: { kind: string; sites: number; accuracy: number; central: number }[] = [];
{
  const K = 3;
  const shards = Array.from({ length: K }, (_, k) => rowsOf(train, Math.floor((k * train.count) / K), Math.floor(((k + 1) * train.count) / K)));
  const lin = await Promise.all(shards.map(async (d) => ({ weights: [await trainLinearSgd(sel.weights, fspec, new Float32Array(D * 10), d, sgd)], count: d.count })));
  averaged.push({ kind: 'linear SGD', sites: K, accuracy: await estimatorAccuracy(sel.weights, fspec, weightedAverage(lin)[0]!, D), central: sgdAccuracy });
  const vals = await Promise.all(
    shards.map(async (d) => {
      const v = await trainValueNetwork(sel.weights, v0, d, sgd);
      return { weights: [...v.kernels, ...v.biases], count: d.count };
    }),
  );
  const avg = weightedAverage(vals);
  const L = v0.kernels.length;
  averaged.push({ kind: 'value network', sites: K, accuracy: await valueAccuracy(sel.weights, { kernels: avg.slice(0, L), biases: avg.slice(L) }), central: valueNetAccuracy });
  for (const a of averaged) console.log(`  ${a.kind}, ${a.sites} sites averaged: ${pct(a.accuracy)} vs central ${pct(a.central)} (gap ${((a.central - a.accuracy) * 100).toFixed(2)} points)`);
}

// 5. Feasible feature dimension.
console.log('\n5. statistics and solve cost by feature dimension D (random features, 10 classes)');
const scaling: { dim: number; statsMiB: number; secondsPer1000: number; solveSeconds: number }[] = [];
const native = nativeBlas();
const blas = native.active ? native.blas : null;
for (const dim of quick ? [1024, 2048] : [1024, 2048, 4096, 8192]) {
  const rows = 1000;
  const rng = Rng.fromSeed(dim);
  const phi = Float32Array.from({ length: rows * dim }, () => rng.next() - 0.5);
  const y = new Float32Array(rows * 10).map((_, i) => (i % 10 === (i / 10) % 10 ? 1 : 0));
  const s: LinearStats = { structureId: 'scaling', spec: fspec, dim, classes: 10, count: rows, a: new Float64Array(dim * dim), b: new Float64Array(dim * 10) };
  t0 = performance.now();
  if (blas) blas.gramAccumulate(s.a, s.b, phi, y, rows, dim, 10);
  const secondsPer1000 = seconds(t0);
  t0 = performance.now();
  if (blas) solveStats(s, lambda, blas);
  const row = { dim, statsMiB: (s.a.byteLength + s.b.byteLength) / 2 ** 20, secondsPer1000: blas ? secondsPer1000 : NaN, solveSeconds: blas ? seconds(t0) : NaN };
  scaling.push(row);
  console.log(
    `  D ${String(dim).padStart(5)}: A+B ${row.statsMiB.toFixed(0).padStart(4)} MiB (float64; twice that while solving), ${row.secondsPer1000.toFixed(2)} s per 1,000 samples, solve ${row.solveSeconds.toFixed(2)} s${blas ? '' : ' (needs the native provider)'}`,
  );
}

const results = {
  date: new Date().toISOString(),
  quick,
  backend,
  selector: { hidden, epochs, trainSamples: train.count, testSamples: test.count, structureId: sel.id },
  stabilization: { history: sel.history.map((h) => ({ epoch: h.epoch, patternChange: h.patternChange, weightChange: h.weightChange })), settled },
  estimators,
  incremental: { shards: incremental, glaiSeconds: glaiTotal, dnnSeconds: dnnTotal, speedup: dnnTotal / glaiTotal, accuracyGapPoints: (last.dnnAccuracy - last.glaiAccuracy) * 100 },
  merge: { merges, mergeCost, averaged },
  scaling,
};
writeFileSync(join(outDir, 'glai.json'), `${JSON.stringify(results, null, 2)}\n`);

const schema = 'https://vega.github.io/schema/vega-lite/v5.json';
await writeSvg(
  {
    $schema: schema,
    title: 'Fashion-MNIST: per-epoch change of ReLU patterns vs weights',
    data: {
      values: sel.history.flatMap((h) => [
        { epoch: h.epoch, kind: 'patterns (flipped bits)', change: h.patternChange },
        { epoch: h.epoch, kind: 'weights (relative L2)', change: h.weightChange },
      ]),
    },
    mark: { type: 'line', point: true },
    encoding: { x: { field: 'epoch', type: 'quantitative' }, y: { field: 'change', type: 'quantitative', scale: { type: 'log' } }, color: { field: 'kind', type: 'nominal' } },
    width: 480,
    height: 300,
  },
  join(outDir, 'glai-stabilization.svg'),
);
await writeSvg(
  {
    $schema: schema,
    title: 'Incremental retraining per shard: GLAI update vs DNN retrain',
    data: {
      values: incremental.flatMap((r) => [
        { seen: r.seen, method: 'GLAI', seconds: r.glaiSeconds, accuracy: r.glaiAccuracy },
        { seen: r.seen, method: 'DNN retrain', seconds: r.dnnSeconds, accuracy: r.dnnAccuracy },
      ]),
    },
    hconcat: [
      {
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'seen', type: 'quantitative', title: 'samples seen' },
          y: { field: 'seconds', type: 'quantitative', scale: { type: 'log' }, title: 'wall time (s)' },
          color: { field: 'method', type: 'nominal' },
        },
        width: 300,
        height: 260,
      },
      {
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'seen', type: 'quantitative', title: 'samples seen' },
          y: { field: 'accuracy', type: 'quantitative', scale: { zero: false }, title: 'test accuracy' },
          color: { field: 'method', type: 'nominal' },
        },
        width: 300,
        height: 260,
      },
    ],
  },
  join(outDir, 'glai-incremental.svg'),
);
await writeSvg(
  {
    $schema: schema,
    title: 'Merge: accuracy by number of sites, and merge+solve time as data grows',
    hconcat: [
      {
        data: {
          values: [
            { sites: 1, accuracy: statsAccuracy, kind: 'statistics' },
            ...merges.map((m) => ({ sites: m.sites, accuracy: m.accuracy, kind: 'statistics' })),
            ...averaged.map((a) => ({ sites: a.sites, accuracy: a.accuracy, kind: a.kind })),
          ],
        },
        mark: { type: 'point', filled: true, size: 80 },
        encoding: { x: { field: 'sites', type: 'ordinal' }, y: { field: 'accuracy', type: 'quantitative', scale: { zero: false } }, color: { field: 'kind', type: 'nominal' } },
        width: 260,
        height: 260,
      },
      {
        data: { values: mergeCost },
        mark: { type: 'line', point: true },
        encoding: { x: { field: 'samples', type: 'quantitative' }, y: { field: 'mergeSeconds', type: 'quantitative', scale: { zero: true }, title: 'merge + solve (s)' } },
        width: 260,
        height: 260,
      },
    ],
  },
  join(outDir, 'glai-merge.svg'),
);
console.log(`\nresults: ${join(outDir, 'glai.json')}; plots: glai-stabilization.svg, glai-incremental.svg, glai-merge.svg`);
