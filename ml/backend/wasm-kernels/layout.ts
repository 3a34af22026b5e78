/**
 * Layout helpers: transposes kept at rank ≤ 4 and NHWC heap copies done in JS.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { explicitPad, heap, type ExplicitPad, type Info, type Scope } from './common.js';

/**
 * Transposes `x` by `perm`, first merging axes that stay adjacent and in order
 * and dropping size-1 axes. The wasm Transpose kernel has tuned loops for rank
 * 2–4 only (higher ranks take a per-element generic path), so e.g.
 * [B,H,W,C]·[1,2,0,3] runs as the rank-3 [B,H·W,C]·[1,0,2].
 */
export function permute(s: Scope, x: Info, perm: number[]): Info {
  const shape = x.shape;
  const outShape = perm.map((p) => shape[p]!);
  const kept = shape.map((_, i) => i).filter((i) => shape[i] !== 1);
  const rp = perm.filter((p) => shape[p] !== 1).map((p) => kept.indexOf(p));
  const groups: number[][] = [];
  for (const p of rp) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1]! + 1 === p) last.push(p);
    else groups.push([p]);
  }
  if (groups.length <= 1) return s.reshape(x, outShape);
  const byInput = [...groups].sort((a, b) => a[0]! - b[0]!);
  const mergedShape = byInput.map((g) => g.reduce((n, p) => n * shape[kept[p]!]!, 1));
  const mergedPerm = groups.map((g) => byInput.indexOf(g));
  const t = s.transpose(s.reshape(x, mergedShape), mergedPerm);
  return s.reshape(t, outShape);
}

/**
 * Spreads a NHWC tensor's rows `sh` and columns `sw` apart, zeros in between:
 * [B,H,W,C] → [B,(H−1)·sh+1,(W−1)·sw+1,C] (the input of a strided transposed
 * convolution run as a stride-1 one). A JS copy on the wasm heap, one channel
 * run at a time.
 */
export function spread(s: Scope, backend: BackendWasm, x: Info, sh: number, sw: number): Info {
  if (sh === 1 && sw === 1) return x;
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const oh = (h - 1) * sh + 1;
  const ow = (w - 1) * sw + 1;
  const out = s.track(backend.makeOutput([b, oh, ow, c], x.dtype));
  const src = heap(backend, x) as Float32Array;
  const dst = heap(backend, out) as Float32Array;
  dst.fill(0);
  for (let n = 0; n < b; n++) {
    for (let i = 0; i < h; i++) {
      let si = (n * h + i) * w * c;
      let di = (n * oh + i * sh) * ow * c;
      for (let j = 0; j < w; j++, si += c, di += sw * c) {
        if (c >= 16) dst.set(src.subarray(si, si + c), di);
        else for (let k = 0; k < c; k++) dst[di + k] = src[si + k]!;
      }
    }
  }
  return out;
}

/**
 * Sums a float32 tensor viewed as [outer, mid, inner] over `mid` into a new
 * [outer, inner] tensor (shape `outShape`), in one sequential pass, four rows
 * at a time, with float64 accumulators. The wasm Sum kernel first transposes
 * the reduced axes innermost, which costs more than the sum itself when they
 * are not.
 */
export function sumMiddle(backend: BackendWasm, x: Info, outer: number, mid: number, inner: number, outShape: number[]): Info {
  const out = backend.makeOutput(outShape, 'float32');
  const src = heap(backend, x) as Float32Array;
  const dst = heap(backend, out) as Float32Array;
  const acc = new Float64Array(inner);
  const i2 = 2 * inner;
  const i3 = 3 * inner;
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    let p = o * mid * inner;
    let m = 0;
    for (; m + 4 <= mid; m += 4, p += 4 * inner) {
      for (let i = 0; i < inner; i++) acc[i] = acc[i]! + (src[p + i]! + src[p + inner + i]! + (src[p + i2 + i]! + src[p + i3 + i]!));
    }
    for (; m < mid; m++, p += inner) {
      for (let i = 0; i < inner; i++) acc[i] = acc[i]! + src[p + i]!;
    }
    dst.set(acc, o * inner);
  }
  return out;
}

/**
 * Copies the window [h0, h0+h) × [w0, w0+w) of a NHWC tensor into a new tensor,
 * one contiguous row of w·C values at a time (the wasm Slice kernel walks such
 * a window element by element).
 */
export function cropNhwc(s: Scope, backend: BackendWasm, x: Info, h0: number, h: number, w0: number, w: number): Info {
  const [b, xh, xw, c] = x.shape as [number, number, number, number];
  if (h0 === 0 && w0 === 0 && h === xh && w === xw) return x;
  const out = s.track(backend.makeOutput([b, h, w, c], x.dtype));
  const src = heap(backend, x);
  const dst = heap(backend, out);
  const run = w * c;
  for (let n = 0; n < b; n++) {
    for (let i = 0; i < h; i++) {
      const si = ((n * xh + h0 + i) * xw + w0) * c;
      dst.set(src.subarray(si, si + run), (n * h + i) * run);
    }
  }
  return out;
}

/**
 * Brings a NHWC tensor to the padding a convolution should see: positive amounts
 * are returned as the convolution's explicit padding (no padded copy is made),
 * negative ones crop the tensor (`cropNhwc`).
 */
export function cropForPad(s: Scope, backend: BackendWasm, x: Info, top: number, bottom: number, left: number, right: number): { x: Info; pad: ExplicitPad } {
  const [, h, w] = x.shape as [number, number, number, number];
  const ct = Math.max(0, -top);
  const cb = Math.max(0, -bottom);
  const cl = Math.max(0, -left);
  const cr = Math.max(0, -right);
  const cropped = cropNhwc(s, backend, x, ct, h - ct - cb, cl, w - cl - cr);
  return { x: cropped, pad: explicitPad(Math.max(0, top), Math.max(0, bottom), Math.max(0, left), Math.max(0, right)) };
}

/** Copies x[i] of a [n, r, c] tensor into a new [1, r, c] tensor (one contiguous block). */
export function batchElement(s: Scope, backend: BackendWasm, x: Info, i: number): Info {
  const [, r, c] = x.shape as [number, number, number];
  const out = s.track(backend.makeOutput([1, r, c], x.dtype));
  heap(backend, out).set(heap(backend, x).subarray(i * r * c, (i + 1) * r * c));
  return out;
}
