/**
 * The optional native BLAS provider of the wasm backend: BatchMatMul,
 * _FusedMatMul, Conv2D and the two Conv2D gradients on OpenBLAS's sgemm through
 * an N-API addon (`native/`), in place of the XNNPACK compositions of
 * `wasm-kernels/` and the stock kernels. Matmuls are most of an MLP's training
 * step and convolutions most of a CNN's; the addon runs them on native SIMD
 * (AVX2/AVX-512) code that wasm's 128-bit SIMD cannot reach.
 *
 * The rest of a training step is elementwise passes, and it adds those where the
 * profile of an MLP's and a CNN's step found the time (bench/kernels.ts): one
 * fused optimizer update over all variables (fused-ops.ts), MaxPool and
 * MaxPoolGrad, the bias addition, the bias gradient (Sum), ReLU and its gradient,
 * each one native pass instead of several wasm ones; a ReLU convolution's
 * bias and ReLU, and their gradients, fused into one pass each
 * (fused-layers.ts); for a stack of dense layers the whole training step
 * as one kernel (native/dense-step.ts); and OUI's PairHamming.
 */
import * as tf from '@tensorflow/tfjs';
import { hasMark, registerMarked, type WasmAnyKernelFunc } from './wasm-kernels/common.js';
import { nativeBatchMatMul, nativeFusedMatMul } from './native/matmul.js';
import { nativeConv2D, nativeConv2DBackpropFilter, nativeConv2DBackpropInput, nativeConv2DBiasRelu } from './native/conv2d.js';
import { nativeAdamWUpdate, nativeSgdUpdate } from './native/update.js';
import { nativeMaxPool, nativeMaxPoolGrad } from './native/pool.js';
import { nativeAdd, nativeRelu, nativeReluGrad, nativeReluGradSum, nativeSum } from './native/bias.js';
import { nativeBlas, type NativeBlas, type NativeStatus } from './native/addon.js';
import { ADAMW_UPDATE, CONV_BIAS_RELU, DENSE_STEP, RELU_GRAD, RELU_GRAD_SUM, SGD_UPDATE, registerConvBiasReluGradient, registerReluGradient } from './fused-ops.js';
import { nativeDenseStep } from './native/dense-step.js';
import { nativePairHamming } from './native/pair-hamming.js';
import { PAIR_HAMMING } from './wasm-kernels/pair-hamming.js';

const KERNELS: [string, (blas: NativeBlas) => WasmAnyKernelFunc][] = [
  [tf.BatchMatMul, nativeBatchMatMul],
  [tf._FusedMatMul, nativeFusedMatMul],
  [tf.Conv2D, nativeConv2D],
  [tf.Conv2DBackpropFilter, nativeConv2DBackpropFilter],
  [tf.Conv2DBackpropInput, nativeConv2DBackpropInput],
  [tf.MaxPool, nativeMaxPool],
  [tf.MaxPoolGrad, nativeMaxPoolGrad],
  [tf.Add, nativeAdd],
  [tf.Sum, nativeSum],
  [tf.Relu, nativeRelu],
  [RELU_GRAD, nativeReluGrad],
  [ADAMW_UPDATE, nativeAdamWUpdate],
  [SGD_UPDATE, nativeSgdUpdate],
  [DENSE_STEP, nativeDenseStep],
  [CONV_BIAS_RELU, nativeConv2DBiasRelu],
  [RELU_GRAD_SUM, nativeReluGradSum],
  [PAIR_HAMMING, nativePairHamming],
];

/** The kernel names the native provider replaces. */
export const NATIVE_KERNELS: readonly string[] = KERNELS.map(([name]) => name);

const MARK = Symbol.for('lightpath.nativeKernel');

/** What each native kernel replaced, to put back. */
const replaced = new Map<string, tf.KernelConfig>();

/**
 * Registers the native kernels for the wasm backend where the addon loads (see
 * `nativeBlas`), on top of lightpath's wasm training kernels; returns the
 * addon's status. Call it after `registerWasmTrainingKernels`; calling it again
 * does nothing.
 */
export function registerNativeKernels(): NativeStatus {
  const status = nativeBlas();
  if (!status.active) return status;
  if (tf.findBackend('wasm') == null) throw new Error('registerNativeKernels: the wasm backend is not initialized');
  registerReluGradient();
  registerConvBiasReluGradient();
  for (const [name, make] of KERNELS) {
    if (hasMark(name, MARK)) continue;
    const current = tf.getKernel(name, 'wasm');
    if (current) replaced.set(name, current);
    registerMarked(name, make(status.blas), MARK);
  }
  return status;
}

/** Puts back the kernels `registerNativeKernels` replaced; for comparisons, tests and benchmarks. */
export function unregisterNativeKernels(): void {
  for (const [name] of KERNELS) {
    if (!hasMark(name, MARK)) continue;
    tf.unregisterKernel(name, 'wasm');
    const previous = replaced.get(name);
    if (previous) tf.registerKernel(previous);
  }
}
