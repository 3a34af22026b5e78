/**
 * OUI's PairHamming kernel (wasm-kernels/pair-hamming.ts) for the wasm backend
 * on the native addon (oui.c): the same counts, vectorized and shared among the
 * product threads. Other dtypes go to the wasm kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { heap, type Info, type WasmKernelArgs, type WasmKernelFunc } from '../wasm-kernels/common.js';
import { pairHamming } from '../wasm-kernels/pair-hamming.js';
import type { NativeBlas } from './addon.js';

/** The PairHamming kernel function on `blas`: attrs `i`, `j` (sample indices); float32 output [k]. */
export function nativePairHamming(blas: NativeBlas): WasmKernelFunc {
  return (args: WasmKernelArgs): Info => {
    const { inputs, attrs = {}, backend } = args;
    const x = inputs.x!;
    if (x.dtype !== 'float32') return pairHamming(args);
    const i = Int32Array.from(attrs.i as number[]);
    const j = Int32Array.from(attrs.j as number[]);
    const d = tf.util.sizeFromShape(x.shape) / x.shape[0]!;
    const out = backend.makeOutput([i.length], 'float32');
    blas.pairHamming(heap(backend, x) as Float32Array, d, i, j, heap(backend, out) as Float32Array);
    return out;
  };
}
