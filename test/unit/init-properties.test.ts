/**
 * Initializer properties (METHODS.md §1): the full-rank variant's rank and rows, and
 * skewed neurons / OUI at init on the 3-layer ReLU MLP of width 300 with N(0,1) inputs.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { selectBackend } from '../../ml/backend/select.js';
import { sinusoidalFullRankMatrix, sinusoidalFullRankKernel } from '../../ml/init/sinusoidal-full-rank.js';
import { sinusoidalMatrix } from '../../ml/init/sinusoidal.js';
import { makeInitializer, type InitializerName } from '../../ml/init/registry.js';
import { applyLsuv } from '../../ml/init/lsuv.js';
import { mlpPreActivations, ouiOfPatterns, skewedShare } from '../../ml/init/diagnostics.js';
import { buildMlp } from '../../ml/models/mlp.js';

before(async () => {
  await selectBackend();
});

function rank(w: Float64Array, m: number, n: number): number {
  const M = m >= n ? new Matrix(m, n) : new Matrix(n, m);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) M.set(m >= n ? i : j, m >= n ? j : i, w[i * n + j]!);
  const s = new SingularValueDecomposition(M, { computeLeftSingularVectors: false, computeRightSingularVectors: false }).diagonal;
  return s.filter((x) => x > s[0]! * 1e-6).length;
}

const SHAPES: [number, number][] = [
  [300, 300],
  [301, 301],
  [600, 300],
  [64, 27],
  [100, 300],
  [299, 300],
  [16, 784],
];

test('full-rank variant: rank min(m, n − 1) (the most zero-sum rows allow), square, tall and wide', () => {
  for (const [m, n] of SHAPES) assert.equal(rank(sinusoidalFullRankMatrix(m, n), m, n), Math.min(m, n - 1), `${m}×${n}`);
  assert.equal(rank(sinusoidalMatrix(300, 300), 300, 300), 149, 'the paper-exact square layer is rank n/2 − 1 (for contrast)');
});

test('full-rank variant: zero row sums, no constant, zero, duplicate or negated rows, exact variance', () => {
  for (const [m, n] of SHAPES) {
    const w = sinusoidalFullRankMatrix(m, n);
    const seen = new Set<string>();
    let mean = 0;
    for (const v of w) mean += v;
    mean /= w.length;
    let s2 = 0;
    for (const v of w) s2 += (v - mean) ** 2;
    assert.ok(Math.abs(s2 / (w.length - 1) / (2 / (m + n)) - 1) < 1e-9, `${m}×${n} variance`);
    for (let r = 0; r < m; r++) {
      const row = w.subarray(r * n, (r + 1) * n);
      const sum = row.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum) < 1e-9, `${m}×${n} row ${r} sums to ${sum}`);
      const spread = Math.max(...row) - Math.min(...row);
      assert.ok(spread > 1e-3, `${m}×${n} row ${r} is constant`);
      const key = (sign: number) => Array.from(row, (v) => (sign * v).toFixed(9)).join(',');
      assert.ok(!seen.has(key(1)) && !seen.has(key(-1)), `${m}×${n} row ${r} repeats or negates another`);
      seen.add(key(1));
    }
  }
  const a = sinusoidalFullRankKernel([3, 3, 8, 16]);
  assert.deepEqual(Buffer.from(a.buffer), Buffer.from(sinusoidalFullRankKernel([3, 3, 8, 16]).buffer), 'deterministic');
});

async function initStats(name: InitializerName): Promise<{ skew01: number; skew03: number; ouiLayer3: number; ouiMean: number; dead: number }> {
  const width = 300;
  const x = tf.randomNormal([4096, width], 0, 1, 'float32', 1234) as tf.Tensor2D;
  const kernels = [0, 1, 2].map((l) => (makeInitializer(name, 100 + l) as unknown as { apply(s: number[]): tf.Tensor2D }).apply([width, width]));
  const zs = mlpPreActivations(x, kernels);
  const z3 = zs[2]!;
  const dead = tf.tidy(() => z3.greater(0).any(0).logicalNot().toFloat().mean());
  const out = {
    skew01: await skewedShare(z3, 0.1),
    skew03: await skewedShare(z3, 0.3),
    ouiLayer3: await ouiOfPatterns(z3),
    ouiMean: ((await ouiOfPatterns(zs[0]!)) + (await ouiOfPatterns(zs[1]!)) + (await ouiOfPatterns(z3))) / 3,
    dead: (await dead.data())[0]!,
  };
  tf.dispose([x, ...kernels, ...zs, dead]);
  return out;
}

test('skewed neurons and OUI at init on the width-300 ReLU MLP (METHODS.md §1)', async (t) => {
  const stats: Record<string, Awaited<ReturnType<typeof initStats>>> = {};
  for (const name of ['sinusoidal', 'sinusoidalFullRank', 'heNormal', 'glorotNormal'] as const) stats[name] = await initStats(name);
  t.diagnostic(JSON.stringify(stats));
  for (const s of ['sinusoidal', 'sinusoidalFullRank']) {
    assert.ok(stats[s]!.skew03 <= 0.01, `${s}: ${stats[s]!.skew03 * 100}% skewed at α = 0.3`);
    assert.ok(stats[s]!.ouiLayer3 >= 0.9, `${s}: OUI at init ${stats[s]!.ouiLayer3}`);
  }
  assert.equal(stats.sinusoidalFullRank!.dead, 0, 'no dead units in the full-rank variant');
  assert.ok(stats.heNormal!.skew03 >= 0.4, `He: ${stats.heNormal!.skew03 * 100}% skewed at α = 0.3`);
  for (const s of ['heNormal', 'glorotNormal']) assert.ok(stats[s]!.ouiLayer3 <= 0.7, `${s}: OUI at init ${stats[s]!.ouiLayer3}`);
});

test('LSUV scales every layer to unit pre-activation variance on a batch', async () => {
  const model = buildMlp({ inputDim: 50, hidden: [64, 32], classes: 5, initializer: 'lsuv', seed: 3 });
  const batch = tf.randomNormal([256, 50], 0, 1, 'float32', 9);
  await applyLsuv(model, batch);
  let h: tf.Tensor = batch;
  for (const layer of model.layers) {
    const [k, b] = layer.getWeights();
    const z = tf.matMul(h as tf.Tensor2D, k as tf.Tensor2D).add(b!);
    const v = (await tf.moments(z).variance.data())[0]!;
    assert.ok(Math.abs(v - 1) < 0.02, `${layer.name}: variance ${v}`);
    h = layer.apply(h) as tf.Tensor;
  }
  model.dispose();
});
