/**
 * GLAI math on synthetic data (METHODS.md §3): merged statistics equal central
 * training, an incremental update equals training on the union, mismatched
 * structures are refused by id, the value network starts as the selector, the
 * selector prior reproduces the selector's logits, λ chosen on validation
 * statistics matches the directly computed validation error, multi-layer gating,
 * and the Böhning refinement never raises the training loss.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../ml/backend/select.js';
import { buildMlp } from '../../ml/models/mlp.js';
import { modelToParts } from '../../ml/models/io.js';
import { selectorWeights, structureId } from '../../ml/glai/selector.js';
import { biasFeatures, checkFeatureSpec, featureDim, gatedFeatures, type FeatureSpec } from '../../ml/glai/features.js';
import { selectorPrior } from '../../ml/glai/prior.js';
import { DEFAULT_SOLVE, activeBlas, priorScale, solveStatistics, validationMse, type SolvePlan } from '../../ml/glai/solve.js';
import { settlingRatios } from '../../ml/glai/settled.js';
import { StabilityTracker } from '../../ml/glai/stabilization.js';
import { bohningRefine } from '../../ml/glai/refine.js';
import { accumulateNative, accumulateOnBackend, accumulateStats, addStats, emptyStats, solveStats } from '../../ml/glai/statistics.js';
import { nativeBlas } from '../../ml/backend/native/addon.js';
import { currentThreads } from '../../ml/backend/native/threads.js';
import { existsSync } from 'node:fs';
import { accuracyOf, linearLogits, valueLogits, valueWeightsFromSelector } from '../../ml/glai/estimator.js';
import { trainClassifier } from '../../ml/train/trainer.js';
import { InvalidInputError } from '../../contracts/errors.js';
import { clusters, rows } from '../helpers/synthetic.js';

before(async () => {
  await selectBackend();
});

const all = clusters(900, 12, 4, 21);
const spec = { valueLayer: 0, gateLayer: 1 };

async function selector(seed: number) {
  const model = buildMlp({ inputDim: 12, hidden: [16, 8], classes: 4, initializer: 'heNormal', seed });
  await trainClassifier(model, rows(all, 0, 600), null, {
    epochs: 2,
    batchSize: 30,
    learningRate: 1e-2,
    schedule: { kind: 'constant' },
    optimizer: { name: 'adamw', weightDecay: 0, weightDecayMode: 'decoupled' },
    seed,
    oui: { pairs: 28, every: 0 },
  });
  return { model, w: selectorWeights(model), id: structureId(await modelToParts(model)) };
}

function maxRelDiff(a: Float64Array, b: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

test('features: (n₁+1)(n_g+1) gated products; a path counts only when its units are on', async () => {
  const { w } = await selector(1);
  assert.equal(featureDim(w, spec), 17 * 9);
  const x = tf.tensor2d(all.x.subarray(0, 5 * 12), [5, 12]);
  const phi = (await gatedFeatures(w, spec, x).array()) as number[][];
  const h1 = (await tf.relu(tf.matMul(x, w.kernels[0]!).add(w.biases[0]!)).array()) as number[][];
  const z2 = (await tf
    .matMul(tf.relu(tf.matMul(x, w.kernels[0]!).add(w.biases[0]!)), w.kernels[1]!)
    .add(w.biases[1]!)
    .array()) as number[][];
  for (let s = 0; s < 5; s++)
    for (let i = 0; i <= 16; i++)
      for (let j = 0; j <= 8; j++) {
        const value = i < 16 ? h1[s]![i]! : 1;
        const gate = j < 8 ? (z2[s]![j]! > 0 ? 1 : 0) : 1;
        assert.ok(Math.abs(phi[s]![i * 9 + j]! - value * gate) < 1e-5);
      }
});

test('merged statistics of 3 sites equal central training (≤ 1e-4 relative), and so does an incremental update', async () => {
  const { w, id } = await selector(2);
  const d = featureDim(w, spec);
  const central = await accumulateStats(emptyStats(id, spec, d, 4), w, all);
  const sites = await Promise.all(
    [
      [0, 250],
      [250, 610],
      [610, 900],
    ].map(([a, b]) => accumulateStats(emptyStats(id, spec, d, 4), w, rows(all, a!, b!))),
  );
  const merged = addStats(sites);
  assert.equal(merged.count, 900);
  const wc = solveStats(central, 1e-3);
  assert.ok(maxRelDiff(solveStats(merged, 1e-3), wc) <= 1e-4, `merge differs by ${maxRelDiff(solveStats(merged, 1e-3), wc)}`);
  const base = await accumulateStats(emptyStats(id, spec, d, 4), w, rows(all, 0, 450));
  const updated = await accumulateStats(base, w, rows(all, 450, 900));
  assert.ok(maxRelDiff(solveStats(updated, 1e-3), wc) <= 1e-4, 'incremental = union');
  const u = tf.tensor2d(Float32Array.from(wc), [d, 4]);
  const acc = await accuracyOf(all, (x) => linearLogits(w, spec, u, x));
  assert.ok(acc > 0.9, `estimator accuracy ${acc}`);
});

test('statistics of different structures are refused with both ids named', async () => {
  const a = await selector(3);
  const b = await selector(4);
  assert.notEqual(a.id, b.id);
  const d = featureDim(a.w, spec);
  assert.throws(
    () => addStats([emptyStats(a.id, spec, d, 4), emptyStats(b.id, spec, d, 4)]),
    (e: Error) => e instanceof InvalidInputError && e.message.includes(a.id) && e.message.includes(b.id),
  );
});

test('the deep gated value network initialized from the selector reproduces it exactly', async () => {
  const { model, w } = await selector(5);
  const v = await valueWeightsFromSelector(w);
  const x = tf.tensor2d(all.x.subarray(0, 100 * 12), [100, 12]);
  const ks = v.kernels.map((k, l) => tf.tensor2d(k, w.kernels[l]!.shape));
  const bs = v.biases.map((b) => tf.tensor1d(b));
  const ours = valueLogits(w, ks, bs, x);
  const theirs = model.predict(x) as tf.Tensor;
  const [o, t] = [await ours.data(), await theirs.data()];
  let diff = 0;
  let scale = 0;
  o.forEach((v, i) => ((diff = Math.max(diff, Math.abs(v - t[i]!))), (scale = Math.max(scale, Math.abs(t[i]!)))));
  assert.ok(diff / scale < 1e-6, `relative difference ${diff / scale} (float rounding only: the dense layer fuses bias and ReLU)`);
  assert.deepEqual(Array.from(await ours.argMax(1).data()), Array.from(await theirs.argMax(1).data()), 'same predictions');
});

test('native float64 statistics and LAPACK solve agree with the tensor-backend path and ml-matrix', async (t) => {
  const native = nativeBlas();
  if (!native.active && !existsSync('/usr/include/x86_64-linux-gnu/cblas.h') && !existsSync('/usr/include/cblas.h')) {
    t.skip(`no native provider here (${native.detail}) and no OpenBLAS headers to build one`);
    return;
  }
  assert.ok(native.active, `OpenBLAS is installed, so provisioning must have built the native provider: ${native.detail}`);
  const s = await selector(5);
  const dim = featureDim(s.w, spec);
  const data = rows(all, 0, 900);
  const onBackend = await accumulateOnBackend(emptyStats(s.id, spec, dim, 4), s.w, data);
  const onBlas = await accumulateNative(native.blas, emptyStats(s.id, spec, dim, 4), s.w, data);
  assert.equal(onBlas.count, 900);
  assert.ok(maxRelDiff(onBlas.a, onBackend.a) <= 1e-8, `A differs by ${maxRelDiff(onBlas.a, onBackend.a)}`);
  assert.ok(maxRelDiff(onBlas.b, onBackend.b) <= 1e-8, `B differs by ${maxRelDiff(onBlas.b, onBackend.b)}`);
  const lapack = solveStats(onBlas, 1e-3, native.blas);
  const mlMatrix = solveStats(onBlas, 1e-3, null);
  assert.ok(maxRelDiff(lapack, mlMatrix) <= 1e-8, `solutions differ by ${maxRelDiff(lapack, mlMatrix)}`);
  const singular = { ...emptyStats(s.id, spec, dim, 4), a: new Float64Array(dim * dim).fill(-1) };
  assert.throws(() => solveStats(singular, 1e-3, native.blas), InvalidInputError);
  s.model.dispose();
});

test('gated Gram and blocked Cholesky: the dense product of φ and ml-matrix solves, the same bits on 1 and 2 threads, two gate layers; non-binary gates refused; bilinearForm = tr(UᵀAV)', async (t) => {
  const native = nativeBlas();
  if (!native.active) {
    t.skip(`no native provider here (${native.detail})`);
    return;
  }
  const s = await selector(5);
  const both: FeatureSpec = { valueLayer: 0, gateLayer: 0, gateLayers: [0, 1] };
  const dim = featureDim(s.w, both);
  const data = rows(all, 0, 300);
  const onBackend = await accumulateOnBackend(emptyStats(s.id, both, dim, 4), s.w, data);
  const runs: Awaited<ReturnType<typeof accumulateNative>>[] = [];
  for (const threads of [1, 2]) {
    native.blas.setThreads(threads);
    runs.push(await accumulateNative(native.blas, emptyStats(s.id, both, dim, 4), s.w, data));
  }
  const solves = [1, 2].map((threads) => (native.blas.setThreads(threads), solveStats(runs[0]!, 1e-3, native.blas)));
  native.blas.setThreads(currentThreads());
  assert.deepEqual(solves[1], solves[0], 'the blocked Cholesky gives the same bits on 1 and 2 threads');
  assert.ok(maxRelDiff(solves[0]!, solveStats(runs[0]!, 1e-3, null)) <= 1e-8, 'and agrees with ml-matrix');
  assert.ok(maxRelDiff(runs[0]!.a, onBackend.a) <= 1e-8, `A differs by ${maxRelDiff(runs[0]!.a, onBackend.a)}`);
  assert.ok(maxRelDiff(runs[0]!.b, onBackend.b) <= 1e-8, `B differs by ${maxRelDiff(runs[0]!.b, onBackend.b)}`);
  assert.deepEqual(runs[1]!.a, runs[0]!.a, 'A: same bits on 1 and 2 threads');
  assert.deepEqual(runs[1]!.b, runs[0]!.b, 'B: same bits on 1 and 2 threads');
  for (let i = 0; i < dim; i += 7) for (let j = 0; j < i; j += 5) assert.equal(runs[0]!.a[i * dim + j], runs[0]!.a[j * dim + i], 'A symmetric');
  const half = new Float32Array([1, 0.5, 0, 1]);
  assert.throws(() => native.blas.gatedGram(new Float64Array(4), new Float64Array(2), new Float32Array([1, 2]), half, new Float32Array([1, 0]), 2, 1, 2, 1), /gate entries must be 0 or 1/);
  const u = Float64Array.from({ length: dim * 4 }, (_, i) => Math.sin(i));
  const v = Float64Array.from({ length: dim * 4 }, (_, i) => Math.cos(3 * i));
  let direct = 0;
  for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) for (let k = 0; k < 4; k++) direct += u[i * 4 + k]! * runs[0]!.a[i * dim + j]! * v[j * 4 + k]!;
  const form = native.blas.bilinearForm(runs[0]!.a, u, v, dim, 4);
  assert.ok(Math.abs(form - direct) <= 1e-9 * Math.abs(direct), `${form} vs ${direct}`);
  s.model.dispose();
});

const planFor = (w: Awaited<ReturnType<typeof selector>>['w'], fspec: FeatureSpec, over: Partial<SolvePlan> = {}): SolvePlan => ({
  ...DEFAULT_SOLVE,
  lambda: 1e-3,
  biasFeatures: biasFeatures(w, fspec),
  ...over,
});

async function logitsOf(t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

test('φ(x)ᵀU_sel equals the selector logits, gated by one layer or by two', async () => {
  const { model, w } = await selector(6);
  const x = tf.tensor2d(all.x.subarray(0, 200 * 12), [200, 12]);
  const theirs = await logitsOf(model.predict(x) as tf.Tensor);
  for (const fspec of [spec, { valueLayer: 0, gateLayer: 0, gateLayers: [0, 1] }, { valueLayer: 1, gateLayer: 0 }] as FeatureSpec[]) {
    const u = await selectorPrior(w, fspec);
    assert.ok(u, `a prior for ${JSON.stringify(fspec)}`);
    const ours = await logitsOf(linearLogits(w, fspec, tf.tensor2d(Float32Array.from(u), [featureDim(w, fspec), 4]), x));
    let diff = 0;
    ours.forEach((v, i) => (diff = Math.max(diff, Math.abs(v - theirs[i]!))));
    assert.ok(diff < 1e-4, `${JSON.stringify(fspec)}: logits differ by ${diff}`);
  }
  assert.equal(await selectorPrior(w, { valueLayer: 0, gateLayer: 0 }), null, 'the last hidden layer does not gate: no prior');
  model.dispose();
});

test('two-layer gating stacks both masks: D = (n₁+1)(n₁+n₂+1); bad specs are refused', async () => {
  const { w } = await selector(7);
  const two: FeatureSpec = { valueLayer: 0, gateLayer: 0, gateLayers: [0, 1] };
  assert.equal(featureDim(w, two), 17 * 25);
  const x = tf.tensor2d(all.x.subarray(0, 3 * 12), [3, 12]);
  const phi = (await gatedFeatures(w, two, x).array()) as number[][];
  const z1 = (await tf.matMul(x, w.kernels[0]!).add(w.biases[0]!).array()) as number[][];
  const z2 = (await tf
    .matMul(tf.relu(tf.matMul(x, w.kernels[0]!).add(w.biases[0]!)), w.kernels[1]!)
    .add(w.biases[1]!)
    .array()) as number[][];
  for (let s = 0; s < 3; s++)
    for (let i = 0; i <= 16; i++)
      for (let j = 0; j <= 24; j++) {
        const value = i < 16 ? Math.max(0, z1[s]![i]!) : 1;
        const gate = j < 16 ? +(z1[s]![j]! > 0) : j < 24 ? +(z2[s]![j - 16]! > 0) : 1;
        assert.ok(Math.abs(phi[s]![i * 25 + j]! - value * gate) < 1e-5);
      }
  assert.deepEqual(
    biasFeatures(w, two),
    Array.from({ length: 25 }, (_, j) => 16 * 25 + j),
  );
  assert.throws(() => checkFeatureSpec(w, { valueLayer: 0, gateLayer: 0, gateLayers: [1, 1] }), InvalidInputError);
  assert.throws(() => checkFeatureSpec(w, { valueLayer: 0, gateLayer: 0, gateLayers: [2] }), InvalidInputError);
});

test('validation error from the statistics equals ‖Φ_vW − Y_v‖²/n_v; λ is chosen on it; huge λ reproduces the selector', async () => {
  const { model, w, id } = await selector(8);
  const d = featureDim(w, spec);
  const train = await accumulateStats(emptyStats(id, spec, d, 4), w, rows(all, 0, 600));
  const valData = rows(all, 600, 900);
  const val = await accumulateStats(emptyStats(id, spec, d, 4), w, valData);
  const prior = await selectorPrior(w, spec);
  const { w: sol, record } = solveStatistics(train, val, prior, planFor(w, spec, { lambdas: [1e-5, 1e-3, 1e-1, 10] }));
  assert.equal(record.chosenBy, 'validation');
  assert.equal(record.curve.length, 4);
  assert.equal(record.validationError, Math.min(...record.curve.map((p) => p.validationError!)));
  assert.ok(record.priorScale > 0 && Math.abs(record.priorScale - priorScale(train, prior!)) < 1e-12);
  for (const blas of [activeBlas(), null])
    for (const from of [1e-5, 1e-3, 1e-1, 10]) {
      const warm = solveStatistics(train, val, prior, planFor(w, spec, { lambdas: [1e-5, 1e-3, 1e-1, 10] }), blas, from);
      assert.equal(warm.record.lambda, record.lambda, `the walk from ${from} finds the grid's minimum (${blas ? 'LAPACK' : 'ml-matrix'})`);
      assert.ok(warm.record.curve.length <= Math.abs(Math.log10(from) - Math.log10(record.lambda)) / 2 + 2, `from ${from}: ${warm.record.curve.length} solves`);
    }
  const phi = (await gatedFeatures(w, spec, tf.tensor2d(valData.x, [300, 12])).array()) as number[][];
  let direct = 0;
  phi.forEach((row, s) => {
    for (let k = 0; k < 4; k++) {
      const out = row.reduce((acc, v, i) => acc + v * sol[i * 4 + k]!, 0);
      direct += (out - (valData.y[s] === k ? 1 : 0)) ** 2;
    }
  });
  assert.ok(Math.abs(validationMse(val, sol) - direct / 300) < 1e-6 * (direct / 300), `${validationMse(val, sol)} vs ${direct / 300}`);
  const pinned = solveStatistics(train, null, prior, planFor(w, spec, { lambda: 1e9 }));
  assert.equal(pinned.record.chosenBy, 'fixed');
  const x = tf.tensor2d(all.x, [900, 12]);
  const selectorClasses = await logitsOf((model.predict(x) as tf.Tensor).argMax(1));
  const pinnedClasses = await logitsOf(linearLogits(w, spec, tf.tensor2d(Float32Array.from(pinned.w), [d, 4]), x).argMax(1));
  assert.deepEqual(Array.from(pinnedClasses), Array.from(selectorClasses), "λ → ∞ gives the selector's predictions");
  model.dispose();
});

test('merged and incremental statistics re-solved with validation-chosen λ equal central training', async () => {
  const { w, id } = await selector(9);
  const two: FeatureSpec = { valueLayer: 0, gateLayer: 0, gateLayers: [0, 1] };
  const d = featureDim(w, two);
  const stats = (from: number, to: number) => accumulateStats(emptyStats(id, two, d, 4), w, rows(all, from, to));
  const val = await stats(750, 900);
  const prior = await selectorPrior(w, two);
  const plan = planFor(w, two, { biasPenalty: 1e-3 });
  const central = solveStatistics(await stats(0, 750), val, prior, plan);
  const merged = solveStatistics(addStats(await Promise.all([stats(0, 200), stats(200, 500), stats(500, 750)])), val, prior, plan);
  assert.equal(merged.record.lambda, central.record.lambda);
  assert.ok(maxRelDiff(merged.w, central.w) <= 1e-4, `merge differs by ${maxRelDiff(merged.w, central.w)}`);
  const updated = solveStatistics(await accumulateStats(await stats(0, 400), w, rows(all, 400, 750)), val, prior, plan);
  assert.ok(maxRelDiff(updated.w, central.w) <= 1e-4, 'incremental = union');
});

test('Böhning refinement from the selector prior never raises the penalised training loss, and keeps its best validation step', async () => {
  const { w, id } = await selector(10);
  const d = featureDim(w, spec);
  const train = rows(all, 0, 600);
  const stats = await accumulateStats(emptyStats(id, spec, d, 4), w, train);
  const prior = (await selectorPrior(w, spec))!;
  const r = await bohningRefine(w, spec, stats, prior, prior, planFor(w, spec), { steps: 4, lambda: 1e-3 }, train, rows(all, 600, 900), null);
  const losses = r.steps.slice(1).map((s) => s.trainLoss);
  losses.slice(1).forEach((l, i) => assert.ok(l <= losses[i]! + 1e-6, `loss rose at step ${i + 2}: ${losses.join(', ')}`));
  const val = rows(all, 600, 900);
  const best = await accuracyOf(val, (x) => linearLogits(w, spec, tf.tensor2d(Float32Array.from(r.w), [d, 4]), x));
  assert.equal(best, Math.max(...r.steps.map((s) => s.valAccuracy)), 'the best validation step is kept');
});

test('per-step stabilization: stepSync measures change since the last call; settling ratios on normalised curves', async () => {
  const { model } = await selector(11);
  const tracker = new StabilityTracker(all, [12], { probe: 100, threshold: 0, weightThreshold: 0, freezeAfter: 0 }, 1);
  assert.equal(tracker.stepSync(model), null, 'the first call sets the reference');
  assert.deepEqual(tracker.stepSync(model), { patternChange: 0, weightChange: 0 });
  model.setWeights(model.getWeights().map((t) => t.mul(1.1)));
  const s = tracker.stepSync(model)!;
  assert.ok(Math.abs(s.weightChange - 0.1) < 1e-5, `weights grew 10 %: ${s.weightChange}`);
  tracker.dispose();
  const r = settlingRatios([0.4, 0.3, 0.1, 0.05, 0.04], [0.2, 0.19, 0.15, 0.05, 0.01], [0.5, 0.2]);
  assert.deepEqual(r, [
    { threshold: 0.5, patterns: 3, weights: 4, ratio: 4 / 3 },
    { threshold: 0.2, patterns: 4, weights: 5, ratio: 5 / 4 },
  ]);
  model.dispose();
});
