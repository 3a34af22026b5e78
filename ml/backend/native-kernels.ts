/**
 * The optional native BLAS provider of the wasm backend: BatchMatMul,
 * _FusedMatMul, Conv2D and the two Conv2D gradients on OpenBLAS's sgemm through
 * an N-API addon (`native/`), in place of the XNNPACK compositions of
 * `wasm-kernels/` and the stock kernels. Matmuls are most of an MLP's training
 * step and convolutions most of a CNN's; the addon runs them on native SIMD
 * (AVX2/AVX-512) code that wasm's 128-bit SIMD cannot reach.
 */
import * as tf from '@tensorflow/tfjs';
import { hasMark, registerMarked, type WasmKernelFunc } from './wasm-kernels/common.js';
import { nativeBatchMatMul, nativeFusedMatMul } from './native/matmul.js';
import { nativeConv2D, nativeConv2DBackpropFilter, nativeConv2DBackpropInput } from './native/conv2d.js';
import { nativeBlas, type NativeBlas, type NativeStatus } from './native/addon.js';

const KERNELS: [string, (blas: NativeBlas) => WasmKernelFunc][] = [
  [tf.BatchMatMul, nativeBatchMatMul],
  [tf._FusedMatMul, nativeFusedMatMul],
  [tf.Conv2D, nativeConv2D],
  [tf.Conv2DBackpropFilter, nativeConv2DBackpropFilter],
  [tf.Conv2DBackpropInput, nativeConv2DBackpropInput],
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
