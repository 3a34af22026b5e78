import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { sinusoidalKernel, sinusoidalMatrix } from '../../ml/init/sinusoidal.js';
import { Sinusoidal } from '../../ml/init/registry.js';

function variance(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m += a[i]!;
  m /= a.length;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - m) ** 2;
  return s / (a.length - 1);
}

test('sinusoidal kernels are bit-identical across calls', () => {
  for (const shape of [
    [784, 256],
    [300, 300],
    [3, 3, 16, 32],
  ]) {
    const a = sinusoidalKernel(shape);
    const b = sinusoidalKernel(shape);
    assert.deepEqual(Buffer.from(a.buffer), Buffer.from(b.buffer));
  }
});

test('matches the METHODS.md §1 formula entry by entry (dense, layout [n_in, n_out])', () => {
  const nIn = 7;
  const nOut = 3;
  const w = sinusoidalKernel([nIn, nOut]);
  const raw: number[] = [];
  for (let i = 1; i <= nOut; i++) for (let j = 0; j < nIn; j++) raw.push(Math.sin((2 * Math.PI * i * j) / nIn + (2 * Math.PI * i) / nOut));
  const a = Math.sqrt(2 / ((nOut + nIn) * variance(raw)));
  for (let i = 1; i <= nOut; i++)
    for (let j = 0; j < nIn; j++) {
      const expected = a * Math.sin((2 * Math.PI * i * j) / nIn + (2 * Math.PI * i) / nOut);
      assert.ok(Math.abs(w[j * nOut + (i - 1)]! - expected) < 1e-6, `W[${i},${j}]`);
    }
});

test('variance equals the Glorot target 2/(m+n), and the He target 2/fan_in', () => {
  for (const [m, n] of [
    [256, 784],
    [128, 256],
    [10, 128],
    [300, 300],
  ] as const) {
    assert.ok(Math.abs(variance(sinusoidalMatrix(m, n)) / (2 / (m + n)) - 1) < 1e-9, `glorot ${m}x${n}`);
    assert.ok(Math.abs(variance(sinusoidalMatrix(m, n, 'he')) / (2 / n) - 1) < 1e-9, `he ${m}x${n}`);
    const f32 = sinusoidalKernel([n, m]);
    assert.ok(Math.abs(variance(f32) / (2 / (m + n)) - 1) < 1e-4, `float32 ${m}x${n}`);
  }
});

test('rows sum to zero for m < n (float64 exactly, float32 within tolerance)', () => {
  const m = 256;
  const n = 784;
  const w = sinusoidalMatrix(m, n);
  const f32 = sinusoidalKernel([n, m]);
  for (let r = 0; r < m; r++) {
    let s = 0;
    let s32 = 0;
    for (let j = 0; j < n; j++) {
      s += w[r * n + j]!;
      s32 += f32[j * m + r]!;
    }
    assert.ok(Math.abs(s) < 1e-9, `row ${r} sums to ${s}`);
    assert.ok(Math.abs(s32) < 5e-4, `float32 row ${r} sums to ${s32}`);
  }
});

test('conv kernels flatten each output channel in (c_in, kh, kw) order', () => {
  const [kh, kw, cIn, cOut] = [3, 3, 4, 8];
  const k = sinusoidalKernel([kh, kw, cIn, cOut]);
  const w = sinusoidalMatrix(cOut, cIn * kh * kw);
  const n = cIn * kh * kw;
  for (let o = 0; o < cOut; o++)
    for (let c = 0; c < cIn; c++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) {
          const got = k[((y * kw + x) * cIn + c) * cOut + o]!;
          assert.ok(Math.abs(got - w[o * n + (c * kh + y) * kw + x]!) < 1e-7);
        }
});

test("'sinusoidal' works as a tf.layers initializer name and serializes", async () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 16, inputShape: [32], kernelInitializer: 'sinusoidal' as never })] });
  const kernel = await model.layers[0]!.getWeights()[0]!.data();
  assert.deepEqual(Array.from(kernel), Array.from(sinusoidalKernel([32, 16])));
  const cfg = JSON.stringify(model.toJSON(null, false));
  assert.match(cfg, /"class_name":"sinusoidal"/);
  const model2 = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [8], kernelInitializer: new Sinusoidal({ mode: 'he' }) as never })] });
  assert.match(JSON.stringify(model2.toJSON(null, false)), /"class_name":"Sinusoidal","config":\{"mode":"he"\}/);
});
