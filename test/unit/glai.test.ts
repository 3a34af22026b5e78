/**
 * GLAI math on synthetic data (METHODS.md §3): merged statistics equal central
 * training, an incremental update equals training on the union, mismatched
 * structures are refused by id, and the value network starts as the selector.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../ml/backend/select.js';
import { buildMlp } from '../../ml/models/mlp.js';
import { modelToParts } from '../../ml/models/io.js';
import { selectorWeights, structureId } from '../../ml/glai/selector.js';
import { featureDim, gatedFeatures } from '../../ml/glai/features.js';
import { accumulateNative, accumulateOnBackend, accumulateStats, addStats, emptyStats, solveStats } from '../../ml/glai/statistics.js';
import { nativeBlas } from '../../ml/backend/native/addon.js';
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
