/**
 * The kernels around a layer's bias and ReLU for the wasm backend on the native
 * addon (bias.c), each one pass over float32 data:
 *
 * - Add of a bias (a 1-D tensor as long as the other operand's last axis, or a
 *   tensor of its shape repeated); other additions go to the wasm Add kernel.
 * - Sum over a contiguous block of axes before the last (the bias gradient),
 *   the same bits as wasm-kernels/sum.ts's; other sums go to that kernel.
 * - Relu (the cpu backend's: NaN stays NaN) and fused-ops.ts's `RELU_GRAD`.
 * - fused-ops.ts's `RELU_GRAD_SUM`: `RELU_GRAD` and the bias gradient's Sum in
 *   one pass, with their bits.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heap, stockKernel, type Info, type WasmAnyKernelFunc, type WasmKernelArgs, type WasmKernelFunc } from '../wasm-kernels/common.js';
import { middleSum, sum } from '../wasm-kernels/sum.js';
import type { NativeBlas } from './addon.js';

const f32 = (backend: BackendWasm, info: Info) => heap(backend, info) as Float32Array;

/** Whether `bias` is added to `x` as one value per position of x's trailing axes, repeated along x's leading ones. */
function isBiasOf(x: Info, bias: Info): boolean {
  const n = bias.shape.length;
  return n >= 1 && n <= x.shape.length && bias.shape.every((d, i) => d === x.shape[x.shape.length - n + i]) && tf.util.sizeFromShape(bias.shape) > 0;
}

/** The Add kernel function on `blas`. */
export function nativeAdd(blas: NativeBlas): WasmKernelFunc {
  return (args: WasmKernelArgs) => {
    const { a, b } = args.inputs;
    const { backend } = args;
    if (a!.dtype !== 'float32' || b!.dtype !== 'float32') return stockKernel(tf.Add)!(args);
    const [x, bias] = isBiasOf(a!, b!) ? [a!, b!] : isBiasOf(b!, a!) ? [b!, a!] : [null, null];
    if (!x || !bias) return stockKernel(tf.Add)!(args);
    const out = backend.makeOutput(x.shape, 'float32');
    blas.biasAdd(f32(backend, x), f32(backend, bias), f32(backend, out));
    return out;
  };
}

/** The Sum kernel function on `blas`. */
export function nativeSum(blas: NativeBlas): WasmKernelFunc {
  return (args: WasmKernelArgs) => {
    const { inputs, attrs = {}, backend } = args;
    const x = inputs.x!;
    const m = middleSum(x, attrs);
    if (!m) return sum(args);
    const out = backend.makeOutput(m.outShape, 'float32');
    blas.sumMiddle(f32(backend, x), f32(backend, out), m.outer, m.mid, m.inner);
    return out;
  };
}

/** The Relu kernel function on `blas`. */
export function nativeRelu(blas: NativeBlas): WasmKernelFunc {
  return (args: WasmKernelArgs) => {
    const { inputs, backend } = args;
    const x = inputs.x!;
    if (x.dtype !== 'float32') return stockKernel(tf.Relu)!(args);
    const out = backend.makeOutput(x.shape, 'float32');
    blas.relu(f32(backend, x), f32(backend, out));
    return out;
  };
}

/** fused-ops.ts's `RELU_GRAD` kernel function on `blas`. */
export function nativeReluGrad(blas: NativeBlas): WasmKernelFunc {
  return ({ inputs, backend }: WasmKernelArgs) => {
    const { dy, x } = inputs;
    const out = backend.makeOutput(dy!.shape, 'float32');
    blas.reluGrad(f32(backend, dy!), f32(backend, x!), f32(backend, out));
    return out;
  };
}

/** fused-ops.ts's `RELU_GRAD_SUM` kernel function on `blas`: [dz, db] from dy and the layer's output y, one pass. */
export function nativeReluGradSum(blas: NativeBlas): WasmAnyKernelFunc {
  return ({ inputs, backend }: WasmKernelArgs) => {
    const { dy, y } = inputs;
    const channels = y!.shape[y!.shape.length - 1]!;
    if (dy!.dtype !== 'float32' || y!.dtype !== 'float32' || dy!.shape.join() !== y!.shape.join() || !(channels > 0)) {
      throw new Error(`relu gradient + bias gradient: needs float32 dy and y of one shape with channels, got [${dy!.shape}] and [${y!.shape}]`);
    }
    const dz = backend.makeOutput(y!.shape, 'float32');
    const db = backend.makeOutput([channels], 'float32');
    blas.reluGradSum(f32(backend, dy!), f32(backend, y!), f32(backend, dz), f32(backend, db));
    return [dz, db];
  };
}
