/**
 * BatchMatMul and _FusedMatMul for the wasm backend on the native BLAS addon.
 *
 * Both read their operands straight from the wasm heap and write the product
 * into a new wasm tensor with one addon call: cblas_sgemm handles transposed
 * operands itself, and batch broadcasting travels as one index per output batch
 * element into each operand's batch (broadcast as TensorFlow does). The fused
 * kernel adds a bias of one value per column (or a single value) and applies
 * linear, relu, relu6, leakyrelu, elu and sigmoid activations in the addon in
 * the same pass; other bias shapes run the wasm Add kernel, and prelu the wasm
 * Prelu kernel. Non-float32 products go to the wasm kernels.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heap, scoped, stockKernel, type Info, type WasmKernelArgs, type WasmKernelFunc } from '../wasm-kernels/common.js';
import { batchMatMul, broadcastIndex } from '../wasm-kernels/matmul.js';
import type { NativeBlas } from './addon.js';

/** Activation codes of the addon's epilogue. */
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, elu: 4, sigmoid: 5 };

const f32 = (backend: BackendWasm, info: Info) => heap(backend, info) as Float32Array;

/** op(a)·op(b) into a new float32 tensor, batch dims broadcast. */
function product(blas: NativeBlas, backend: BackendWasm, a: Info, b: Info, ta: boolean, tb: boolean): Info {
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const m = ta ? a.shape[aRank - 1]! : a.shape[aRank - 2]!;
  const k = ta ? a.shape[aRank - 2]! : a.shape[aRank - 1]!;
  const kb = tb ? b.shape[bRank - 1]! : b.shape[bRank - 2]!;
  const n = tb ? b.shape[bRank - 2]! : b.shape[bRank - 1]!;
  if (k !== kb) throw new Error(`matMul: inner dimensions ${k} and ${kb} of shapes ${a.shape} and ${b.shape} (transposeA=${ta}, transposeB=${tb}) differ`);
  const aOuter = a.shape.slice(0, -2);
  const bOuter = b.shape.slice(0, -2);
  const outOuter = tf.backend_util.assertAndGetBroadcastShape(aOuter, bOuter);
  const batch = tf.util.sizeFromShape(outOuter);
  const aIdx = broadcastIndex(outOuter, aOuter);
  const bIdx = broadcastIndex(outOuter, bOuter);
  const aIndex = new Int32Array(batch);
  const bIndex = new Int32Array(batch);
  for (let i = 0; i < batch; i++) {
    aIndex[i] = aIdx(i);
    bIndex[i] = bIdx(i);
  }
  const out = backend.makeOutput([...outOuter, m, n], 'float32');
  blas.sgemm(ta, tb, m, n, k, f32(backend, a), f32(backend, b), f32(backend, out), aIndex, bIndex);
  return out;
}

/** The BatchMatMul kernel function on `blas`. */
export function nativeBatchMatMul(blas: NativeBlas): WasmKernelFunc {
  return (args: WasmKernelArgs) => {
    const { a, b } = args.inputs;
    if (a!.dtype !== 'float32' || b!.dtype !== 'float32') return batchMatMul(args);
    return product(blas, args.backend, a!, b!, Boolean(args.attrs?.transposeA), Boolean(args.attrs?.transposeB));
  };
}

/** The _FusedMatMul kernel function on `blas`: product, bias, activation. */
export function nativeFusedMatMul(blas: NativeBlas): WasmKernelFunc {
  return (args: WasmKernelArgs) => {
    const { inputs, backend } = args;
    const { a, b, bias, preluActivationWeights } = inputs;
    if (a!.dtype !== 'float32' || b!.dtype !== 'float32') return stockKernel(tf._FusedMatMul)!(args);
    const activation = (args.attrs?.activation as string | undefined) ?? 'linear';
    const code = activation === 'prelu' ? ACTIVATIONS.linear! : ACTIVATIONS[activation];
    if (code == null) throw new Error(`_FusedMatMul: activation ${activation} is not supported`);
    const alpha = (args.attrs?.leakyreluAlpha as number | undefined) ?? 0.2;
    return scoped(backend, (s) => {
      let y = s.track(product(blas, backend, a!, b!, Boolean(args.attrs?.transposeA), Boolean(args.attrs?.transposeB)));
      const n = y.shape[y.shape.length - 1]!;
      const rowBias = bias != null && bias.shape.length <= 1 && (tf.util.sizeFromShape(bias.shape) === n || tf.util.sizeFromShape(bias.shape) === 1);
      if (bias != null && !rowBias) y = s.run(tf.Add, { a: y, b: bias });
      if ((rowBias || code !== ACTIVATIONS.linear) && tf.util.sizeFromShape(y.shape) > 0) blas.epilogue(f32(backend, y), n, rowBias ? f32(backend, bias) : null, code, alpha);
      if (activation === 'prelu') y = s.run(tf.Prelu, { x: y, alpha: preluActivationWeights! });
      return y;
    });
  };
}
