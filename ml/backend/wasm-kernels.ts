/**
 * Training kernels for TF.js's WASM backend.
 *
 * Stock `@tensorflow/tfjs-backend-wasm` runs inference fast (XNNPACK) but trains
 * slowly or not at all: transposed and batched BatchMatMul (every dense layer's
 * backward pass) and Conv2DBackpropInput are scalar loops, MaxPoolGrad is a slow
 * scalar loop, and Conv2DBackpropFilter, the depthwise-conv gradients and
 * UnsortedSegmentSum (the gradient of gather) are not registered at all. The
 * kernels in `wasm-kernels/` replace or add these, mostly as compositions of the
 * backend's own XNNPACK-backed kernels (each file explains its construction).
 * Two general kernels on every training step are replaced as well: Sum over
 * leading axes (bias gradients) and Identity (a copy, run for every tensor a
 * custom gradient saves). Lightpath's own ops: PairHamming, OUI's per-pair
 * distance of on/off patterns, and a classifier's loss with its accuracy count
 * (softmax-xent.ts, fused-loss.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { hasMark, registerMarked, stockConfig, type WasmAnyKernelFunc } from './wasm-kernels/common.js';
import { batchMatMul } from './wasm-kernels/matmul.js';
import { conv2DBackpropFilter, conv2DBackpropInput } from './wasm-kernels/conv2d.js';
import { depthwiseConv2dNativeBackpropFilter, depthwiseConv2dNativeBackpropInput } from './wasm-kernels/depthwise.js';
import { maxPoolGrad } from './wasm-kernels/pool.js';
import { unsortedSegmentSum } from './wasm-kernels/segment.js';
import { sum } from './wasm-kernels/sum.js';
import { identity } from './wasm-kernels/identity.js';
import { PAIR_HAMMING, pairHamming } from './wasm-kernels/pair-hamming.js';
import { softmaxXent, softmaxXentGrad } from './wasm-kernels/softmax-xent.js';
import { SOFTMAX_XENT, SOFTMAX_XENT_GRAD } from './fused-ops.js';

const KERNELS: [string, WasmAnyKernelFunc][] = [
  [tf.BatchMatMul, batchMatMul],
  [tf.Conv2DBackpropFilter, conv2DBackpropFilter],
  [tf.Conv2DBackpropInput, conv2DBackpropInput],
  [tf.MaxPoolGrad, maxPoolGrad],
  [tf.DepthwiseConv2dNativeBackpropFilter, depthwiseConv2dNativeBackpropFilter],
  [tf.DepthwiseConv2dNativeBackpropInput, depthwiseConv2dNativeBackpropInput],
  [tf.UnsortedSegmentSum, unsortedSegmentSum],
  [tf.Sum, sum],
  [tf.Identity, identity],
  [PAIR_HAMMING, pairHamming],
  [SOFTMAX_XENT, softmaxXent],
  [SOFTMAX_XENT_GRAD, softmaxXentGrad],
];

/** The kernel names `registerWasmTrainingKernels` replaces or adds. */
export const WASM_TRAINING_KERNELS: readonly string[] = KERNELS.map(([name]) => name);

const MARK = Symbol.for('lightpath.wasmTrainingKernel');

const ours = (name: string) => hasMark(name, MARK);

/**
 * Registers lightpath's training kernels for the wasm backend, replacing the
 * stock ones where the backend has them. Call it after `tf.setBackend('wasm')`
 * has succeeded (the stock kernels must have been set up by the backend's
 * initialization); calling it again does nothing.
 */
export function registerWasmTrainingKernels(): void {
  if (tf.findBackend('wasm') == null) {
    throw new Error('registerWasmTrainingKernels: the wasm backend is not initialized; call it after tf.setBackend("wasm") succeeds');
  }
  for (const [name, func] of KERNELS) if (!ours(name)) registerMarked(name, func, MARK);
}

/**
 * Puts the stock wasm kernels back (and removes the added ones), undoing
 * `registerWasmTrainingKernels`; for comparisons and benchmarks.
 */
export function restoreStockWasmKernels(): void {
  for (const [name] of KERNELS) {
    if (!ours(name)) continue;
    tf.unregisterKernel(name, 'wasm');
    const stock = stockConfig(name);
    if (stock) tf.registerKernel(stock);
  }
}
