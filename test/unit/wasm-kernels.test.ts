/**
 * lightpath's wasm training kernels (ml/backend/wasm-kernels.ts) against the cpu
 * backend: forward results and gradients of every replaced or added kernel, no
 * leaked tensors or wasm buffers, and a few training steps of an MLP and a CNN
 * built with tf.layers whose gradients match cpu's. The native BLAS provider's
 * matmuls are unregistered here (they have their own tests, native-blas.test.ts),
 * so these run the XNNPACK compositions.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../ml/backend/select.js';
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from '../../ml/backend/wasm-kernels.js';
import { unregisterNativeKernels } from '../../ml/backend/native-kernels.js';
import {
  compare,
  compareBroadcastMatMul,
  compareConv2DLayouts,
  compareConv2Ds,
  compareMatMuls,
  input,
  reportWorst,
  smallCnn,
  smallMlp,
  TOLERANCE,
  trainAndCompare,
  valueAndGrads,
} from '../helpers/backend-compare.js';

before(async () => {
  const info = await selectBackend('wasm');
  assert.ok(info.name === 'wasm' || info.name === 'wasm+openblas', info.name);
  unregisterNativeKernels();
});

test('registration replaces the stock kernels, is idempotent, and runs where select.ts loads wasm', () => {
  for (const name of WASM_TRAINING_KERNELS) {
    const k = tf.getKernel(name, 'wasm');
    assert.ok(k, `${name} registered`);
    assert.ok(Symbol.for('lightpath.wasmTrainingKernel') in (k.kernelFunc as object), `${name} is lightpath's`);
  }
  const funcs = WASM_TRAINING_KERNELS.map((n) => tf.getKernel(n, 'wasm').kernelFunc);
  registerWasmTrainingKernels();
  assert.deepEqual(
    WASM_TRAINING_KERNELS.map((n) => tf.getKernel(n, 'wasm').kernelFunc),
    funcs,
  );
});

test('BatchMatMul: every transpose combination and batch dims, with gradients; broadcast batch dims forward', async (t) => {
  assert.ok((await compareMatMuls()) <= TOLERANCE);
  reportWorst(t);
});

test('BatchMatMul broadcasts batch dims as TensorFlow does ([2,1]·[3] → [2,3])', async (t) => {
  assert.ok((await compareBroadcastMatMul()) <= TOLERANCE);
  reportWorst(t);
});

test('Conv2D gradients: same/valid, stride 1/2, 1×1/3×3/5×5, 1/3/16 channels', async (t) => {
  assert.ok((await compareConv2Ds()) <= TOLERANCE);
  reportWorst(t);
});

test('Conv2D gradients: explicit padding, rectangular kernels and strides, dilation, NCHW', async (t) => {
  await compareConv2DLayouts();
  reportWorst(t);
});

test('MaxPoolGrad: 2×2/2 (valid, same, odd sizes), overlapping 3×3, ties', async (t) => {
  const cases: { shape: number[]; size: number; stride: number; pad: 'same' | 'valid' }[] = [
    { shape: [2, 8, 8, 16], size: 2, stride: 2, pad: 'valid' },
    { shape: [2, 9, 7, 3], size: 2, stride: 2, pad: 'valid' },
    { shape: [2, 9, 7, 3], size: 2, stride: 2, pad: 'same' },
    { shape: [2, 9, 9, 5], size: 3, stride: 2, pad: 'same' },
    { shape: [1, 7, 8, 4], size: 3, stride: 1, pad: 'valid' },
  ];
  for (const { shape, size, stride, pad } of cases) {
    const [b, h, w, c] = shape as [number, number, number, number];
    const oh = pad === 'same' ? Math.ceil(h / stride) : Math.floor((h - size) / stride) + 1;
    const ow = pad === 'same' ? Math.ceil(w / stride) : Math.floor((w - size) / stride) + 1;
    const f = valueAndGrads((x) => tf.maxPool(x as tf.Tensor4D, size, stride, pad), 1);
    await compare(`maxPool ${size}/${stride} ${pad} ${shape}`, [input(shape, 1), input([b, oh, ow, c], 2)], f);
    const relu = (x: tf.Tensor) => tf.maxPool(tf.relu(x) as tf.Tensor4D, size, stride, pad);
    await compare(`maxPool of relu (ties) ${size}/${stride} ${pad}`, [input(shape, 3), input([b, oh, ow, c], 4)], valueAndGrads(relu, 1));
  }
  const flat = { shape: [1, 4, 4, 2], data: new Float32Array(32).fill(0.5) };
  await compare(
    'maxPool all equal',
    [flat, input([1, 2, 2, 2], 5)],
    valueAndGrads((x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'), 1),
  );
  reportWorst(t);
});

test('DepthwiseConv2dNative gradients: same/valid, stride 1/2, multiplier 1/2', async (t) => {
  for (const pad of ['same', 'valid'] as const) {
    for (const stride of [1, 2]) {
      for (const [k, c, m] of [
        [3, 16, 1],
        [5, 3, 2],
        [1, 1, 1],
      ] as const) {
        const [h, w] = [10, 9];
        const oh = pad === 'same' ? Math.ceil(h / stride) : Math.floor((h - k) / stride) + 1;
        const ow = pad === 'same' ? Math.ceil(w / stride) : Math.floor((w - k) / stride) + 1;
        const f = valueAndGrads((x, filt) => tf.depthwiseConv2d(x as tf.Tensor4D, filt as tf.Tensor4D, stride, pad), 2);
        await compare(`depthwise ${pad} s${stride} k${k} c${c}×${m}`, [input([2, h, w, c], 1), input([k, k, c, m], 2), input([2, oh, ow, c * m], 3)], f);
      }
    }
  }
  reportWorst(t);
});

test('UnsortedSegmentSum: gather gradients (axis 0 and 1, repeated indices) and direct calls', async (t) => {
  const idx = { shape: [7], data: Int32Array.from([3, 0, 3, 5, 1, 3, 0]), dtype: 'int32' as const };
  await compare('gather axis 0', [input([6, 4, 3], 1), input([7, 4, 3], 2), idx], (params, dy, ids) => {
    const g = tf.grad((p: tf.Tensor) => tf.gather(p, ids as tf.Tensor1D, 0))(params!, dy!);
    return [tf.gather(params!, ids as tf.Tensor1D, 0), g];
  });
  await compare('gather axis 1', [input([2, 6, 5], 3), input([2, 7, 5], 4), idx], (params, dy, ids) => {
    const g = tf.grad((p: tf.Tensor) => tf.gather(p, ids as tf.Tensor1D, 1))(params!, dy!);
    return [tf.gather(params!, ids as tf.Tensor1D, 1), g];
  });
  const outOfRange = { shape: [6], data: Int32Array.from([0, 2, -1, 2, 9, 1]), dtype: 'int32' as const };
  await compare('unsortedSegmentSum, ids out of range', [input([6, 3, 4], 5), outOfRange], (x, ids) => tf.unsortedSegmentSum(x!, ids as tf.Tensor1D, 4));
  const ints = { shape: [4, 2], data: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), dtype: 'int32' as const };
  const ids1d = { shape: [4], data: Int32Array.from([1, 1, 0, 1]), dtype: 'int32' as const };
  await compare('unsortedSegmentSum int32', [ints, ids1d], (x, ids) => tf.unsortedSegmentSum(x!, ids as tf.Tensor1D, 3));
  reportWorst(t);
});

test('Sum over leading axes (bias gradients) and Identity', async (t) => {
  const x = input([4, 5, 6, 7], 1);
  for (const [axis, keepDims] of [
    [[0, 1, 2], false],
    [[0, 1, 2], true],
    [[1, 2], false],
    [[0], false],
    [[3], false],
    [[0, 2], false],
    [null, false],
  ] as [number[] | null, boolean][]) {
    await compare(`sum ${axis} keepDims=${keepDims}`, [x], (v) => tf.sum(v!, axis ?? undefined, keepDims));
  }
  await compare('clone', [x], (v) => {
    const c = tf.clone(v!);
    return [c, tf.add(c, 1)];
  });
  reportWorst(t);
});

test('an MLP trains on wasm with gradients matching cpu', async (t) => {
  await trainAndCompare('MLP', smallMlp, [32, 48], 10, 4);
  reportWorst(t);
});

test('a small CNN (conv-relu-maxpool ×2 → dense) trains on wasm with gradients matching cpu', async (t) => {
  await trainAndCompare('CNN', smallCnn, [16, 14, 14, 1], 10, 3);
  reportWorst(t);
});
