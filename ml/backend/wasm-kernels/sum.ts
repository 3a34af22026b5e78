/**
 * Sum for wasm when the reduced axes are a contiguous block that does not
 * include the last axis, e.g. a bias gradient (a conv's dy summed over
 * [0,1,2]). The stock kernel transposes the reduced axes innermost first (a
 * copy of the whole tensor with a strided access pattern); here the tensor is
 * read once, in order, as [outer, reduced, inner] (see `sumMiddle`). Every
 * other case goes to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { stockKernel, type Info, type WasmKernelArgs } from './common.js';
import { sumMiddle } from './layout.js';

/** A Sum over a contiguous block of axes before the last, as [outer, mid, inner] → [outer, inner] with the kernel's output shape; null for other sums. */
export function middleSum(x: Info, attrs: tf.NamedAttrMap): { outer: number; mid: number; inner: number; outShape: number[] } | null {
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((a, b) => a - b);
  const first = axes[0];
  const last = axes[axes.length - 1];
  const contiguous = first != null && last != null && axes.every((a, i) => a === first + i);
  if (x.dtype !== 'float32' || !contiguous || last === rank - 1) return null;
  return {
    outer: tf.util.sizeFromShape(x.shape.slice(0, first)),
    mid: tf.util.sizeFromShape(x.shape.slice(first, last + 1)),
    inner: tf.util.sizeFromShape(x.shape.slice(last + 1)),
    outShape: attrs.keepDims ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d)) : x.shape.filter((_, i) => i < first || i > last),
  };
}

/** The Sum kernel function. */
export function sum(args: WasmKernelArgs): Info {
  const { inputs, attrs = {}, backend } = args;
  const x = inputs.x!;
  const m = middleSum(x, attrs);
  if (!m) return stockKernel(tf.Sum)!(args);
  return sumMiddle(backend, x, m.outer, m.mid, m.inner, m.outShape);
}
