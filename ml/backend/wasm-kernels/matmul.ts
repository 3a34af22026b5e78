/**
 * BatchMatMul for wasm that always reaches XNNPACK.
 *
 * The stock kernel hands a product to XNNPACK's fully-connected operator only
 * when neither operand is transposed and both have batch size 1; everything
 * else, including both matmuls of every dense layer's backward pass
 * (dx = dy·Wᵀ, dW = xᵀ·dy), runs a scalar triple loop. This kernel rewrites
 * every case into that one fast form:
 *
 * - a transposed operand is materialized with the (O(size)) Transpose kernel,
 *   or the product is computed as (B'·A')ᵀ when that transposes and packs fewer
 *   elements (XNNPACK packs its right operand anew for every new tensor); the
 *   untransposed products of a training step's forward pass get the same
 *   choice, other untransposed products stay on the stock path, which caches
 *   the packed weights for reuse;
 * - an untransposed batched A times an unbatched B folds the batch into A's
 *   rows: [n,M,K]·[K,N] is one [n·M,K]·[K,N] product;
 * - other batched products run one fast 2-D product per batch element
 *   (broadcasting the batch dims as TensorFlow does) and are copied into the
 *   output; tiny per-element products with equal batch sizes stay on the
 *   stock kernel, where the per-call cost of packing XNNPACK weights would
 *   dominate (the stock kernel does not broadcast batch dims correctly).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heap, scoped, stockKernel, type Info, type Scope, type WasmKernelArgs } from './common.js';
import { batchElement } from './layout.js';

/** Below this many multiply-adds per batch element a batched product stays on the stock kernel. */
const MIN_BATCHED_WORK = 32 * 32 * 32;

function stockMatMul(s: Scope, a: Info, b: Info): Info {
  const f = stockKernel(tf.BatchMatMul)!;
  return s.track(f({ inputs: { a, b }, attrs: { transposeA: false, transposeB: false }, backend: s.backend }));
}

/** Relative cost per element of a wasm Transpose and of XNNPACK packing its weights operand (measured). */
const TRANSPOSE_COST = 1;
const PACK_COST = 2;

/**
 * A [M,K]·[K,N] product of rank-2 views with optional transposes, on the fast
 * path; returns [1,M,N]. XNNPACK packs the right operand ("weights") on every
 * call, so besides materializing transposes it can pay to compute (B'·A')ᵀ
 * instead of A'·B' when A' is the smaller operand: the cheaper of the two is
 * chosen by counting transposed and packed elements.
 */
function product2d(s: Scope, a: Info, b: Info, ta: boolean, tb: boolean): Info {
  const [ar, ac] = a.shape as [number, number];
  const [br, bc] = b.shape as [number, number];
  const m = ta ? ac : ar;
  const k = ta ? ar : ac;
  const n = tb ? br : bc;
  const direct = TRANSPOSE_COST * ((ta ? m * k : 0) + (tb ? n * k : 0)) + PACK_COST * k * n;
  const swapped = TRANSPOSE_COST * ((tb ? 0 : n * k) + (ta ? 0 : m * k) + m * n) + PACK_COST * k * m;
  const rows = (x: Info, r: number, c: number, t: boolean) => (t ? s.transpose(s.reshape(x, [1, r, c]), [0, 2, 1]) : s.reshape(x, [1, r, c]));
  if (swapped < direct) {
    const left = rows(b, br, bc, !tb);
    const right = rows(a, ar, ac, !ta);
    return s.transpose(stockMatMul(s, left, right), [0, 2, 1]);
  }
  return stockMatMul(s, rows(a, ar, ac, ta), rows(b, br, bc, tb));
}

/**
 * True while the engine records a gradient tape (a forward pass of a training
 * step). The stock fast path caches XNNPACK's packed copy of B under B's tensor
 * id, which pays off when the same weights are multiplied again (inference);
 * during a training step the weights change before the next call, so there is
 * nothing to reuse and the cheaper orientation of `product2d` is taken instead.
 */
function recordingGradients(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

/** The BatchMatMul kernel function (see the file comment for its construction). */
export function batchMatMul(args: WasmKernelArgs): Info {
  const { inputs, backend } = args;
  const a = inputs.a!;
  const b = inputs.b!;
  const ta = Boolean(args.attrs?.transposeA);
  const tb = Boolean(args.attrs?.transposeB);
  const stock = stockKernel(tf.BatchMatMul)!;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock(args);

  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const aOuter = a.shape.slice(0, -2);
  const bOuter = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(aOuter);
  const batchB = tf.util.sizeFromShape(bOuter);
  const ar = a.shape[aRank - 2]!;
  const ac = a.shape[aRank - 1]!;
  const br = b.shape[bRank - 2]!;
  const bc = b.shape[bRank - 1]!;
  const m = ta ? ac : ar;
  const k = ta ? ar : ac;
  const kb = tb ? bc : br;
  const n = tb ? br : bc;
  if (k !== kb) return stock(args);
  const outOuter = tf.backend_util.assertAndGetBroadcastShape(aOuter, bOuter);
  const outShape = [...outOuter, m, n];
  const batch = tf.util.sizeFromShape(outOuter);

  if (!ta && !tb && batchA === 1 && batchB === 1 && !recordingGradients()) return stock(args);

  return scoped(backend, (s) => {
    if (batchB === 1 && !ta) {
      const a2 = s.reshape(a, [batchA * m, k]);
      const b2 = s.reshape(b, [br, bc]);
      return s.reshape(product2d(s, a2, b2, false, tb), outShape);
    }
    if (batchA === 1 && batchB === 1) {
      return s.reshape(product2d(s, s.reshape(a, [ar, ac]), s.reshape(b, [br, bc]), ta, tb), outShape);
    }
    if (batchA === batchB && m * n * k < MIN_BATCHED_WORK) return s.track(stock(args));
    return batchedProduct(s, backend, a, b, ta, tb, outOuter, outShape, batch);
  });
}

/**
 * One fast 2-D product per element of the broadcast batch, copied into the
 * output. Operands are transposed once up front; a right operand shared by
 * consecutive batch elements is kept, so XNNPACK keeps its packed weights.
 */
function batchedProduct(s: Scope, backend: BackendWasm, a: Info, b: Info, ta: boolean, tb: boolean, outOuter: number[], outShape: number[], batch: number): Info {
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const aOuter = a.shape.slice(0, -2);
  const bOuter = b.shape.slice(0, -2);
  const ar = a.shape[aRank - 2]!;
  const ac = a.shape[aRank - 1]!;
  const br = b.shape[bRank - 2]!;
  const bc = b.shape[bRank - 1]!;
  const batchA = tf.util.sizeFromShape(aOuter);
  const batchB = tf.util.sizeFromShape(bOuter);
  // Transpose each operand once for all batch elements: [n,R,C] → [n,C,R].
  const a3 = ta ? s.transpose(s.reshape(a, [batchA, ar, ac]), [0, 2, 1]) : s.reshape(a, [batchA, ar, ac]);
  const b3 = tb ? s.transpose(s.reshape(b, [batchB, br, bc]), [0, 2, 1]) : s.reshape(b, [batchB, br, bc]);
  const [, m] = a3.shape as [number, number, number];
  const n = b3.shape[2]!;
  const out = s.track(backend.makeOutput([batch, m, n], 'float32'));
  const aIdx = broadcastIndex(outOuter, aOuter);
  const bIdx = broadcastIndex(outOuter, bOuter);
  const free = (t: Info) => backend.disposeData(s.keep(t).dataId);
  let bi: Info | null = null;
  let biIndex = -1;
  for (let i = 0; i < batch; i++) {
    const ai = batchElement(s, backend, a3, aIdx(i));
    if (bIdx(i) !== biIndex) {
      if (bi) free(bi);
      biIndex = bIdx(i);
      bi = batchElement(s, backend, b3, biIndex);
    }
    const pi = stockMatMul(s, ai, bi!);
    (heap(backend, out) as Float32Array).set(heap(backend, pi) as Float32Array, i * m * n);
    free(ai);
    free(pi);
  }
  return s.reshape(out, outShape);
}

/** Maps a flat index into the broadcast batch shape `outer` to the flat index into `inner`'s batch. */
export function broadcastIndex(outer: number[], inner: number[]): (i: number) => number {
  const pad = outer.length - inner.length;
  const dims = outer.map((d, j) => (j < pad ? 1 : inner[j - pad]!));
  const strides = new Array<number>(dims.length).fill(1);
  for (let j = dims.length - 2; j >= 0; j--) strides[j] = strides[j + 1]! * dims[j + 1]!;
  return (i: number) => {
    let r = i;
    let idx = 0;
    for (let j = outer.length - 1; j >= 0; j--) {
      const c = r % outer[j]!;
      r = (r - c) / outer[j]!;
      if (dims[j] !== 1) idx += c * strides[j]!;
    }
    return idx;
  };
}
