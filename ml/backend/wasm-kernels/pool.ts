/**
 * MaxPoolGrad for wasm as a JS loop over the wasm heap.
 *
 * The stock kernel is a scalar C++ loop that, for every input pixel, revisits
 * every window that may contain it. This one makes a single pass over the
 * windows: for each output pixel and channel it finds the first strictly
 * largest input of the window in row-major order, in-bounds pixels only (the
 * cpu backend's and TensorFlow's rule, so ties and NaNs resolve the same way),
 * and adds dy there. Channels are innermost, as in NHWC memory. The common 2×2
 * stride-2 window, when it lies inside the input, is unrolled. Without overlap
 * between windows each dx element receives at most one dy, so the result is
 * exactly the cpu backend's.
 */
import * as tf from '@tensorflow/tfjs';
import { heap, pair, type Info, type PadAttr, type Rounding, type WasmKernelArgs } from './common.js';

/** The MaxPoolGrad kernel function; inputs dy and input (x); the forward output is not needed. */
export function maxPoolGrad(args: WasmKernelArgs): Info {
  const { inputs, attrs = {}, backend } = args;
  const x = inputs.input!;
  const dy = inputs.dy!;
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    pair(attrs.filterSize as number | number[]),
    pair(attrs.strides as number | number[]),
    1,
    attrs.pad as PadAttr,
    attrs.dimRoundingMode as Rounding,
  );
  const { batchSize, inHeight: h, inWidth: w, inChannels: ch, outHeight, outWidth, strideHeight: sh, strideWidth: sw } = info;
  const fh = info.effectiveFilterHeight;
  const fw = info.effectiveFilterWidth;
  const { top, left } = info.padInfo;
  const out = backend.makeOutput(x.shape, 'float32');
  const xv = heap(backend, x) as Float32Array;
  const dyv = heap(backend, dy) as Float32Array;
  const dx = heap(backend, out) as Float32Array;
  dx.fill(0);
  const pair2x2 = fh === 2 && fw === 2 && sh === 2 && sw === 2;
  const best = new Float32Array(ch);
  const at = new Int32Array(ch);
  const rowStride = w * ch;
  let yi = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let r = 0; r < outHeight; r++) {
      const r0 = r * sh - top;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(h, r0 + fh);
      for (let c = 0; c < outWidth; c++, yi += ch) {
        const c0 = c * sw - left;
        const cMin = Math.max(0, c0);
        const cMax = Math.min(w, c0 + fw);
        if (pair2x2 && rMax - rMin === 2 && cMax - cMin === 2) {
          const p00 = ((b * h + rMin) * w + cMin) * ch;
          const p01 = p00 + ch;
          const p10 = p00 + rowStride;
          const p11 = p10 + ch;
          for (let d = 0; d < ch; d++) {
            let m = -Infinity;
            let p = -1;
            const v00 = xv[p00 + d]!;
            const v01 = xv[p01 + d]!;
            const v10 = xv[p10 + d]!;
            const v11 = xv[p11 + d]!;
            if (v00 > m) {
              m = v00;
              p = p00;
            }
            if (v01 > m) {
              m = v01;
              p = p01;
            }
            if (v10 > m) {
              m = v10;
              p = p10;
            }
            if (v11 > m) p = p11;
            if (p >= 0) dx[p + d] = dx[p + d]! + dyv[yi + d]!;
          }
          continue;
        }
        best.fill(-Infinity);
        at.fill(-1);
        for (let xr = rMin; xr < rMax; xr++) {
          for (let xc = cMin; xc < cMax; xc++) {
            const base = ((b * h + xr) * w + xc) * ch;
            for (let d = 0; d < ch; d++) {
              const v = xv[base + d]!;
              if (v > best[d]!) {
                best[d] = v;
                at[d] = base + d;
              }
            }
          }
        }
        for (let d = 0; d < ch; d++) {
          const p = at[d]!;
          if (p >= 0) dx[p] = dx[p]! + dyv[yi + d]!;
        }
      }
    }
  }
  return out;
}
