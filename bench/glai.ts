/**
 * `npm run bench:glai`: GLAI on Fashion-MNIST with an MLP selector (METHODS.md §3).
 * The training set is split 50,000 train / 10,000 validation (seeded); λ is chosen
 * on the validation statistics, the test split only scores.
 *
 * 1. Stabilization as arXiv 2602.08333 measures it: pattern change on a fixed
 *    validation probe and relative weight change every N optimiser steps, each curve
 *    normalised by its initial value, settling step under several relative
 *    thresholds, with a cosine and a constant learning rate.
 * 2. Estimators vs selector at each `--epochs` budget: ridge toward the selector with
 *    λ chosen on validation statistics, for the last-layer gate (D = 2,145) and the
 *    two-layer gate (D = 6,305); the earlier fixed-λ ridge toward zero; Böhning
 *    cross-entropy refinement from U_sel (`--refine-steps` passes, 0 = off); memory of
 *    A and time per 1,000 samples.
 * 3. Incremental retraining, 50 % then 5 shards of 10 %: base selector with as many
 *    optimiser steps as the final DNN (one-time cost reported apart); per shard the
 *    GLAI update (new samples' statistics + re-solve, λ re-chosen on the stored
 *    validation statistics, searched from the last λ) vs retraining the DNN on all data seen (no OUI or
 *    stabilization probes).
 * 4. Merge of 3 and 10 sites vs central; a merge across structures is refused.
 *
 * `--quick`: 6,000 training samples, 2,000 test, 2 epochs. `--sgd`: also linear SGD
 * and the deep gated value network (section 2). `--narrow`: skip D = 6,305.
 * Writes bench/results/glai.json and glai-*.svg. Not a test.
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { selectBackend } from '../ml/backend/select.js';
import { nativeBlas } from '../ml/backend/native/addon.js';
import { buildModel, type ModelSpec } from '../ml/models/build.js';
import { trainClassifier, type TrainOptions } from '../ml/train/trainer.js';
import { loadFashionMnist } from '../ml/data/fashion-mnist.js';
import { imagesToData } from '../ml/data/images.js';
import { Rng } from '../ml/rng.js';
import { modelToParts } from '../ml/models/io.js';
import { selectorWeights, structureId, type SelectorWeights } from '../ml/glai/selector.js';
import { biasFeatures, featureDim, type FeatureSpec } from '../ml/glai/features.js';
import { accumulateStats, addStats, emptyStats, type LinearStats } from '../ml/glai/statistics.js';
import { DEFAULT_SOLVE, activeBlas, solveStatistics, type SolvePlan } from '../ml/glai/solve.js';
import { selectorPrior } from '../ml/glai/prior.js';
import { bohningRefine } from '../ml/glai/refine.js';
import { accuracyOf, linearLogits, trainLinearSgd, trainValueNetwork, valueLogits, valueWeightsFromSelector } from '../ml/glai/estimator.js';
import { settlingRatios } from '../ml/glai/settled.js';
import { StabilityTracker } from '../ml/glai/stabilization.js';
import type { LabelledData } from '../ml/train/data.js';
import { writeSvg } from './plot.js';
import { benchIncrementalChart, benchStabilizationChart } from '../cli/report/bench-charts.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    epochs: { type: 'string', default: '10,20' },
    hidden: { type: 'string', default: '64,32' },
    every: { type: 'string', default: '50' },
    shards: { type: 'string', default: '5' },
    'refine-steps': { type: 'string', default: '5' },
    sgd: { type: 'boolean', default: false },
    narrow: { type: 'boolean', default: false },
  },
});
const quick = args.quick!;
const budgets = quick ? [2] : args.epochs!.split(',').map(Number);
const hidden = args.hidden!.split(',').map(Number);
const every = Number(args.every);
const shardCount = Number(args.shards);
const refineSteps = quick ? 2 : Number(args['refine-steps']);
const outDir = join(import.meta.dirname, 'results');
mkdirSync(outDir, { recursive: true });
const SHAPE: [number, number, number] = [28, 28, 1];
const SEED = 42;
const spec: ModelSpec = { kind: 'mlp', hidden, filters: [], dense: [], channels: [], initializer: 'sinusoidal' };
const trainOptions = (epochs: number, schedule: TrainOptions['schedule'] = { kind: 'cosine', warmupSteps: 0 }): TrainOptions => ({
  epochs,
  batchSize: 128,
  learningRate: 1e-3,
  schedule,
  optimizer: { name: 'adamw', weightDecay: 1e-4, weightDecayMode: 'decoupled' },
  seed: SEED,
  oui: { pairs: 28, every: 0 },
});

const backend = await selectBackend();
const fm = await loadFashionMnist();
const pool = quick ? 7000 : fm.train.count;
const order = Rng.fromSeed(SEED).shuffle(Int32Array.from({ length: fm.train.count }, (_, i) => i));
const valCount = quick ? 1000 : 10_000;
const train = imagesToData(fm.train, 10, order.subarray(0, pool - valCount));
const val = imagesToData(fm.train, 10, order.subarray(pool - valCount, pool));
const test = imagesToData(fm.test, 10, quick ? Array.from({ length: 2000 }, (_, i) => i) : undefined);
const load = () => loadavg()[0]!.toFixed(2);
console.log(`native float64 statistics: ${nativeBlas().detail}`);
console.log(`backend ${backend.name}; selector 784-${hidden.join('-')}-10; train ${train.count}, validation ${val.count}, test ${test.count}; load ${load()}`);

const seconds = (t0: number) => (performance.now() - t0) / 1000;
const rowsOf = (d: LabelledData, from: number, to: number): LabelledData => ({ ...d, x: d.x.subarray(from * d.dim, to * d.dim), y: d.y.subarray(from, to), count: to - from });
const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
const lastGate: FeatureSpec = { valueLayer: 0, gateLayer: hidden.length - 1 };
const allGates: FeatureSpec = { valueLayer: 0, gateLayer: 0, gateLayers: hidden.map((_, l) => l) };
const specs = args.narrow || hidden.length < 2 ? [lastGate] : [lastGate, allGates];

/** Trains a selector on `data`; returns it with its weights, structure id, history and time. */
async function trainSelector(data: LabelledData, options: TrainOptions, onBatch?: (model: tf.LayersModel) => void) {
  const model = buildModel(spec, SHAPE, 10, SEED);
  const t0 = performance.now();
  const final = await trainClassifier(model, data, null, options, onBatch ? { onBatch: () => onBatch(model) } : {});
  const trainSeconds = seconds(t0);
  return { model, weights: selectorWeights(model), id: structureId(await modelToParts(model)), history: final.history, trainSeconds };
}

/** Statistics of `data` on top of `stats` (default: from zero), timed. */
async function statsOf(w: SelectorWeights, id: string, fspec: FeatureSpec, data: LabelledData, stats = emptyStats(id, fspec, featureDim(w, fspec), 10)) {
  const t0 = performance.now();
  await accumulateStats(stats, w, data);
  return { stats, seconds: seconds(t0) };
}

async function estimatorAccuracy(w: SelectorWeights, fspec: FeatureSpec, u: ArrayLike<number>, on = test): Promise<number> {
  const t = tf.tensor2d(Float32Array.from(u), [u.length / 10, 10]);
  const acc = await accuracyOf(on, (x) => linearLogits(w, fspec, t, x));
  t.dispose();
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

const planOf = (w: SelectorWeights, fspec: FeatureSpec, over: Partial<SolvePlan> = {}): SolvePlan => ({ ...DEFAULT_SOLVE, lambda: 1e-3, biasFeatures: biasFeatures(w, fspec), ...over });

// 1. Stabilization every N steps, cosine and constant learning rate.
console.log(`\n1. structure vs weight stabilization every ${every} steps (probe: 512 validation samples; curves normalised by their first value)`);
const thresholds = [0.5, 0.3, 0.2, 0.1];
const stabilization: { schedule: string; series: { step: number; patternChange: number; weightChange: number }[]; settled: ReturnType<typeof settlingRatios> }[] = [];
let selector10: Awaited<ReturnType<typeof trainSelector>> | null = null;
for (const schedule of [{ kind: 'cosine', warmupSteps: 0 }, { kind: 'constant' }] as TrainOptions['schedule'][]) {
  const tracker = new StabilityTracker(val, [SHAPE[0] * SHAPE[1] * SHAPE[2]], { probe: 512, threshold: 0, weightThreshold: 0, freezeAfter: 0 }, SEED);
  const series: { step: number; patternChange: number; weightChange: number }[] = [];
  let step = 0;
  const record = (model: tf.LayersModel) => {
    if (step++ % every !== 0) return;
    const s = tracker.stepSync(model);
    if (s) series.push({ step: step - 1, ...s });
  };
  const sel = await trainSelector(train, trainOptions(budgets[0]!, schedule), record);
  tracker.dispose();
  const settled = settlingRatios(
    series.map((s) => s.patternChange),
    series.map((s) => s.weightChange),
    thresholds,
  );
  const atStep = (i: number | null) => (i === null ? '—' : String(series[i - 1]!.step));
  stabilization.push({ schedule: schedule.kind, series, settled });
  console.log(
    `  ${schedule.kind} lr, ${budgets[0]} epochs (${step} steps): initial pattern change ${series[0]!.patternChange.toFixed(4)}, weight change ${series[0]!.weightChange.toFixed(4)} per ${every} steps`,
  );
  for (const s of settled)
    console.log(`    under ${s.threshold} of initial: patterns at step ${atStep(s.patterns)}, weights at step ${atStep(s.weights)}${s.ratio ? ` (weights ${s.ratio.toFixed(2)}× later)` : ''}`);
  if (schedule.kind === 'cosine') selector10 = sel;
  else sel.model.dispose();
}

// 2. Estimators vs selector.
console.log('\n2. estimators vs selector (λ chosen on validation statistics)');
const estimators: Record<string, unknown>[] = [];
const scaling: { dim: number; statsMiB: number; secondsPer1000: number; solveSecondsPerLambda: number }[] = [];
let wideSelector: Awaited<ReturnType<typeof trainSelector>> | null = null;
for (const epochs of budgets) {
  const sel = epochs === budgets[0] ? selector10! : await trainSelector(train, trainOptions(epochs));
  const selectorAccuracy = await accuracyOf(test, (x) => sel.model.apply(x) as tf.Tensor2D);
  const row: Record<string, unknown> = { epochs, selector: selectorAccuracy, selectorTrainSeconds: sel.trainSeconds };
  console.log(`  ${epochs} epochs: selector ${pct(selectorAccuracy)} (trained ${sel.trainSeconds.toFixed(0)} s, load ${load()})`);
  for (const fspec of specs) {
    const D = featureDim(sel.weights, fspec);
    const tr = await statsOf(sel.weights, sel.id, fspec, train);
    const va = await statsOf(sel.weights, sel.id, fspec, val);
    const prior = await selectorPrior(sel.weights, fspec);
    const plan = planOf(sel.weights, fspec);
    let t0 = performance.now();
    const ridge = solveStatistics(tr.stats, va.stats, prior, plan);
    const solveSeconds = seconds(t0);
    const ridgeAccuracy = await estimatorAccuracy(sel.weights, fspec, ridge.w);
    const plain = solveStatistics(tr.stats, null, null, planOf(sel.weights, fspec, { prior: 'zero' }));
    const plainAccuracy = await estimatorAccuracy(sel.weights, fspec, plain.w);
    const key = fspec.gateLayers ? 'allGates' : 'lastGate';
    row[key] = { dim: D, ridgeAccuracy, record: ridge.record, plainFixedLambdaAccuracy: plainAccuracy, accumulateSeconds: tr.seconds + va.seconds, solveSeconds };
    console.log(
      `    D ${D} (${key}): ridge toward selector ${pct(ridgeAccuracy)} (λ ${ridge.record.lambda}, c ${ridge.record.priorScale.toFixed(4)}; ${(100 * (ridgeAccuracy - selectorAccuracy)).toFixed(2)} points); fixed λ 1e-3 toward 0 ${pct(plainAccuracy)}; stats ${(tr.seconds + va.seconds).toFixed(1)} s, solve ${plan.lambdas.length} λ ${solveSeconds.toFixed(1)} s; load ${load()}`,
    );
    console.log(`      validation MSE by λ: ${ridge.record.curve.map((p) => `${p.lambda}: ${p.validationError!.toFixed(4)}`).join(', ')}`);
    if (epochs === budgets[0])
      scaling.push({
        dim: D,
        statsMiB: (tr.stats.a.byteLength + tr.stats.b.byteLength) / 2 ** 20,
        secondsPer1000: (1000 * tr.seconds) / train.count,
        solveSecondsPerLambda: solveSeconds / plan.lambdas.length,
      });
    if (refineSteps > 0 && prior) {
      t0 = performance.now();
      const refined = await bohningRefine(sel.weights, fspec, tr.stats, prior, prior, plan, { steps: refineSteps, lambda: 1e-3 }, train, val, activeBlas());
      const refineSeconds = seconds(t0);
      const refinedAccuracy = await estimatorAccuracy(sel.weights, fspec, refined.w);
      row[`${key}Refined`] = { dim: D, accuracy: refinedAccuracy, seconds: refineSeconds, steps: refined.steps };
      console.log(
        `    D ${D} + Böhning (${refineSteps} passes from U_sel): ${pct(refinedAccuracy)} (${(100 * (refinedAccuracy - selectorAccuracy)).toFixed(2)} points; ${refineSeconds.toFixed(1)} s); validation accuracy by step ${refined.steps.map((s) => pct(s.valAccuracy)).join(' → ')}`,
      );
    }
  }
  if (args.sgd) {
    const sgd = { epochs: 2, batchSize: 128, learningRate: 1e-3, seed: SEED };
    const u = await trainLinearSgd(sel.weights, lastGate, new Float32Array(featureDim(sel.weights, lastGate) * 10), train, sgd);
    const v = await trainValueNetwork(sel.weights, await valueWeightsFromSelector(sel.weights), train, sgd);
    const kernels = v.kernels.map((k, l) => tf.tensor2d(k, sel.weights.kernels[l]!.shape));
    const biases = v.biases.map((b) => tf.tensor1d(b));
    row.linearSgd = await estimatorAccuracy(sel.weights, lastGate, u);
    row.valueNetwork = await accuracyOf(test, (x) => valueLogits(sel.weights, kernels, biases, x));
    tf.dispose([...kernels, ...biases]);
    console.log(`    linear SGD (2 epochs) ${pct(row.linearSgd as number)}; value network (2 epochs) ${pct(row.valueNetwork as number)}`);
  }
  estimators.push(row);
  if (epochs === budgets[0]) wideSelector = sel;
  else sel.model.dispose();
}
for (const s of scaling)
  console.log(
    `  D ${s.dim}: A+B ${s.statsMiB.toFixed(0)} MiB float64 (A_v the same again; twice A while solving), ${s.secondsPer1000.toFixed(2)} s per 1,000 samples, solve ${s.solveSecondsPerLambda.toFixed(2)} s per λ`,
  );

// 3. Incremental retraining.
console.log(`\n3. incremental retraining: 50 % then ${shardCount} shards (D ${featureDim(selector10!.weights, lastGate)})`);
const half = Math.floor(train.count / 2);
const shardSize = Math.floor((train.count - half) / shardCount);
const baseEpochs = Math.round((budgets[0]! * (half + shardCount * shardSize)) / half);
const base = await trainSelector(rowsOf(train, 0, half), trainOptions(baseEpochs));
let t0 = performance.now();
let stats = (await statsOf(base.weights, base.id, lastGate, rowsOf(train, 0, half))).stats;
const baseVal = (await statsOf(base.weights, base.id, lastGate, val)).stats;
const basePrior = await selectorPrior(base.weights, lastGate);
const basePlan = planOf(base.weights, lastGate);
let solution = solveStatistics(stats, baseVal, basePrior, basePlan);
const baseGlaiSeconds = seconds(t0);
const baseAccuracy = await accuracyOf(test, (x) => base.model.apply(x) as tf.Tensor2D);
console.log(
  `  one-time: base selector ${baseEpochs} epochs on ${half} samples (the steps of ${budgets[0]} epochs on ${half + shardCount * shardSize}) ${base.trainSeconds.toFixed(1)} s → ${pct(baseAccuracy)}; base statistics + solve ${baseGlaiSeconds.toFixed(1)} s → ${pct(await estimatorAccuracy(base.weights, lastGate, solution.w))}`,
);
const incremental: {
  shard: number;
  seen: number;
  glaiSeconds: number;
  accumulateSeconds: number;
  solveSeconds: number;
  lambda: number;
  glaiAccuracy: number;
  dnnSeconds: number;
  dnnAccuracy: number;
}[] = [];
for (let k = 1; k <= shardCount; k++) {
  const from = half + (k - 1) * shardSize;
  const seen = half + k * shardSize;
  t0 = performance.now();
  stats = await accumulateStats(stats, base.weights, rowsOf(train, from, seen));
  const accumulateSeconds = seconds(t0);
  t0 = performance.now();
  solution = solveStatistics(stats, baseVal, basePrior, basePlan, activeBlas(), solution.record.lambda);
  const solveSeconds = seconds(t0);
  const glaiAccuracy = await estimatorAccuracy(base.weights, lastGate, solution.w);
  const dnn = await trainSelector(rowsOf(train, 0, seen), trainOptions(budgets[0]!));
  const dnnAccuracy = await accuracyOf(test, (x) => dnn.model.apply(x) as tf.Tensor2D);
  dnn.model.dispose();
  const r = {
    shard: k,
    seen,
    glaiSeconds: accumulateSeconds + solveSeconds,
    accumulateSeconds,
    solveSeconds,
    lambda: solution.record.lambda,
    solves: solution.record.curve.length,
    glaiAccuracy,
    dnnSeconds: dnn.trainSeconds,
    dnnAccuracy,
  };
  incremental.push(r);
  console.log(
    `  shard ${k} (seen ${seen}): GLAI update ${r.glaiSeconds.toFixed(2)} s (statistics ${accumulateSeconds.toFixed(2)} s + solve ${solveSeconds.toFixed(2)} s, λ ${r.lambda} after ${r.solves} solves from the last λ) → ${pct(glaiAccuracy)}; DNN retrain ${dnn.trainSeconds.toFixed(1)} s → ${pct(dnnAccuracy)}; load ${load()}`,
  );
}
const glaiTotal = incremental.reduce((s, r) => s + r.glaiSeconds, 0);
const dnnTotal = incremental.reduce((s, r) => s + r.dnnSeconds, 0);
const meanGap = incremental.reduce((s, r) => s + (r.dnnAccuracy - r.glaiAccuracy), 0) / incremental.length;
const last = incremental.at(-1)!;
console.log(
  `  total over ${shardCount} shards: GLAI ${glaiTotal.toFixed(1)} s vs DNN ${dnnTotal.toFixed(1)} s → ${(dnnTotal / glaiTotal).toFixed(1)}× less time; final ${pct(last.glaiAccuracy)} vs ${pct(last.dnnAccuracy)} (gap ${((last.dnnAccuracy - last.glaiAccuracy) * 100).toFixed(2)} points, mean gap ${(meanGap * 100).toFixed(2)})`,
);

// 4. Merge across sites.
console.log('\n4. merge of K sites (disjoint shards) vs central');
const sel = selector10!;
const centralStats = (await statsOf(sel.weights, sel.id, lastGate, train)).stats;
const centralVal = (await statsOf(sel.weights, sel.id, lastGate, val)).stats;
const prior = await selectorPrior(sel.weights, lastGate);
const plan = planOf(sel.weights, lastGate);
const central = solveStatistics(centralStats, centralVal, prior, plan);
const centralAccuracy = await estimatorAccuracy(sel.weights, lastGate, central.w);
const merges: { sites: number; maxRelDiff: number; accuracy: number; lambda: number; siteSeconds: number; mergeSeconds: number }[] = [];
for (const K of [3, 10]) {
  const parts: LinearStats[] = [];
  let siteSeconds = 0;
  for (let k = 0; k < K; k++) {
    const r = await statsOf(sel.weights, sel.id, lastGate, rowsOf(train, Math.floor((k * train.count) / K), Math.floor(((k + 1) * train.count) / K)));
    parts.push(r.stats);
    siteSeconds = Math.max(siteSeconds, r.seconds);
  }
  t0 = performance.now();
  const merged = solveStatistics(addStats(parts), centralVal, prior, plan);
  const mergeSeconds = seconds(t0);
  const m = { sites: K, maxRelDiff: maxRel(merged.w, central.w), accuracy: await estimatorAccuracy(sel.weights, lastGate, merged.w), lambda: merged.record.lambda, siteSeconds, mergeSeconds };
  merges.push(m);
  console.log(
    `  ${K} sites: max rel. weight difference ${m.maxRelDiff.toExponential(2)} (λ ${m.lambda} vs central ${central.record.lambda}), accuracy ${pct(m.accuracy)} (central ${pct(centralAccuracy)}); slowest site ${siteSeconds.toFixed(1)} s, merge+solve ${mergeSeconds.toFixed(2)} s`,
  );
}
let refused: string | null = null;
try {
  addStats([centralStats, emptyStats(base.id, lastGate, centralStats.dim, 10)]);
} catch (e) {
  refused = (e as Error).message;
}
console.log(`  merge across structures: ${refused ? `refused (${refused.slice(0, 60)}…)` : 'NOT refused'}`);
base.model.dispose();
wideSelector?.model.dispose();

const results = {
  date: new Date().toISOString(),
  quick,
  backend,
  load: loadavg(),
  selector: { hidden, budgets, trainSamples: train.count, validationSamples: val.count, testSamples: test.count, structureId: sel.id },
  stabilization: { every, thresholds, runs: stabilization },
  estimators,
  scaling,
  incremental: {
    baseEpochs,
    baseTrainSeconds: base.trainSeconds,
    baseAccuracy,
    baseGlaiSeconds,
    shards: incremental,
    glaiSeconds: glaiTotal,
    dnnSeconds: dnnTotal,
    speedup: dnnTotal / glaiTotal,
    accuracyGapPoints: (last.dnnAccuracy - last.glaiAccuracy) * 100,
    meanGapPoints: meanGap * 100,
  },
  merge: { central: { accuracy: centralAccuracy, lambda: central.record.lambda }, merges, mismatchRefused: refused },
};
writeFileSync(join(outDir, 'glai.json'), `${JSON.stringify(results, null, 2)}\n`);

await writeSvg(benchStabilizationChart(results.stabilization), join(outDir, 'glai-stabilization.svg'));
await writeSvg(benchIncrementalChart(results.incremental.shards), join(outDir, 'glai-incremental.svg'));
console.log(`\nresults: ${join(outDir, 'glai.json')}; plots: glai-stabilization.svg, glai-incremental.svg`);
