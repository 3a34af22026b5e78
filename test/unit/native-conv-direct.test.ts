/**
 * The native addon's direct convolutions (conv.c: patches of at most 32 values
 * and a multiple of 16 filters, forward and filter gradient, as a first layer on
 * 1 to 3 channel images has them) against a float64 loop over the definition,
 * with padding, strides and dilation; their bits on 1, 2 and 3 threads; and the
 * forward pass with bias and ReLU against the pass without them followed by
 * biasRelu, bit for bit, on the direct and the im2col path.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { nativeBlas, type NativeBlas } from '../../ml/backend/native/addon.js';
import { nativeSkip as skip, requireNativeProvider } from '../helpers/native-provider.js';

/** A convolution's shape: images, input size and channels, filters, kernel, stride, dilation, padding (top, left). */
interface Conv {
  b: number;
  h: number;
  w: number;
  c: number;
  f: number;
  k: number;
  stride: number;
  dilation: number;
  pad: number;
}

const CASES: Record<string, Conv> = {
  'the CNN first layer (1 channel, 3×3, 32 filters, same)': { b: 4, h: 12, w: 12, c: 1, f: 32, k: 3, stride: 1, dilation: 1, pad: 1 },
  '3 channels, 5×5, 16 filters, stride 2, valid': { b: 3, h: 9, w: 11, c: 3, f: 16, k: 5, stride: 2, dilation: 1, pad: 0 },
  '2 channels, 3×3 dilated by 2, 16 filters, padded': { b: 2, h: 10, w: 10, c: 2, f: 16, k: 3, stride: 1, dilation: 2, pad: 2 },
};
/** Too many values per patch for the direct path: im2col + sgemm. */
const IM2COL: Conv = { b: 2, h: 8, w: 8, c: 8, f: 16, k: 3, stride: 1, dilation: 1, pad: 1 };

const outSize = (n: number, s: Conv) => Math.floor((n + 2 * s.pad - s.dilation * (s.k - 1) - 1) / s.stride) + 1;

function geometry(s: Conv): Int32Array {
  return Int32Array.from([s.b, s.h, s.w, s.c, outSize(s.h, s), outSize(s.w, s), s.f, s.k, s.k, s.stride, s.stride, s.dilation, s.dilation, s.pad, s.pad]);
}

let seed = 11;
const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5;
const random = (n: number) => Float32Array.from({ length: n }, next);

/** The input pixel under tap (ky, kx) of output pixel (oy, ox), or null in the padding. */
function source(s: Conv, oy: number, ox: number, ky: number, kx: number): [number, number] | null {
  const iy = oy * s.stride + ky * s.dilation - s.pad;
  const ix = ox * s.stride + kx * s.dilation - s.pad;
  return iy < 0 || iy >= s.h || ix < 0 || ix >= s.w ? null : [iy, ix];
}

/** Forward pass and filter gradient in float64, straight from the definition. */
function reference(s: Conv, x: Float32Array, w: Float32Array, dy: Float32Array): { y: Float64Array; dw: Float64Array } {
  const [oh, ow] = [outSize(s.h, s), outSize(s.w, s)];
  const y = new Float64Array(s.b * oh * ow * s.f);
  const dw = new Float64Array(s.k * s.k * s.c * s.f);
  for (let n = 0; n < s.b; n++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let ky = 0; ky < s.k; ky++)
          for (let kx = 0; kx < s.k; kx++) {
            const at = source(s, oy, ox, ky, kx);
            if (!at) continue;
            for (let ci = 0; ci < s.c; ci++) {
              const v = x[((n * s.h + at[0]) * s.w + at[1]) * s.c + ci]!;
              const tap = ((ky * s.k + kx) * s.c + ci) * s.f;
              const pixel = ((n * oh + oy) * ow + ox) * s.f;
              for (let j = 0; j < s.f; j++) {
                y[pixel + j]! += v * w[tap + j]!;
                dw[tap + j]! += v * dy[pixel + j]!;
              }
            }
          }
  return { y, dw };
}

/** The largest difference from the reference, relative to its largest value. */
function relativeError(got: Float32Array, want: Float64Array): number {
  let err = 0;
  let scale = 0;
  want.forEach((v, i) => {
    err = Math.max(err, Math.abs(got[i]! - v));
    scale = Math.max(scale, Math.abs(v));
  });
  return err / scale;
}

/** Runs the forward pass, the filter gradient and the forward pass with bias and ReLU on `threads` threads. */
function run(blas: NativeBlas, s: Conv, threads: number, x: Float32Array, w: Float32Array, dy: Float32Array, bias: Float32Array) {
  blas.setThreads(threads);
  const g = geometry(s);
  const y = new Float32Array(dy.length).fill(NaN);
  const dw = new Float32Array(w.length).fill(NaN);
  const fused = new Float32Array(dy.length).fill(NaN);
  blas.conv2d(0, x, w, y, g);
  blas.conv2d(1, x, dy, dw, g);
  blas.conv2dBiasRelu(x, w, bias, fused, g);
  return { y, dw, fused };
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

let blas: NativeBlas;

before(async () => {
  if (skip) return;
  await requireNativeProvider();
  const status = nativeBlas();
  assert.ok(status.active, status.detail);
  blas = status.blas;
});

test('direct convolutions match the definition: forward and filter gradient, padding, stride and dilation', { skip }, () => {
  const threads = blas.info().threads;
  try {
    for (const [name, s] of Object.entries(CASES)) {
      const x = random(s.b * s.h * s.w * s.c);
      const w = random(s.k * s.k * s.c * s.f);
      const dy = random(s.b * outSize(s.h, s) * outSize(s.w, s) * s.f);
      const want = reference(s, x, w, dy);
      const got = run(blas, s, 2, x, w, dy, random(s.f));
      assert.ok(relativeError(got.y, want.y) < 1e-5, `${name}: forward off by ${relativeError(got.y, want.y)}`);
      assert.ok(relativeError(got.dw, want.dw) < 1e-5, `${name}: filter gradient off by ${relativeError(got.dw, want.dw)}`);
    }
  } finally {
    blas.setThreads(threads);
  }
});

test('direct convolutions give the same bits on 1, 2 and 3 threads; with bias and ReLU, the bits of conv2d then biasRelu (direct and im2col)', { skip }, () => {
  const threads = blas.info().threads;
  try {
    for (const [name, s] of [...Object.entries(CASES), ['im2col', IM2COL] as const]) {
      const x = random(s.b * s.h * s.w * s.c);
      const w = random(s.k * s.k * s.c * s.f);
      const dy = random(s.b * outSize(s.h, s) * outSize(s.w, s) * s.f);
      const bias = random(s.f);
      const [one, two, three] = [1, 2, 3].map((t) => run(blas, s, t, x, w, dy, bias));
      for (const key of ['y', 'dw', 'fused'] as const) {
        assert.ok(bits(one![key]).equals(bits(two![key])) && bits(one![key]).equals(bits(three![key])), `${name}: ${key} differs between thread counts`);
      }
      const separate = Float32Array.from(one!.y);
      blas.biasRelu(separate, bias);
      assert.ok(bits(one!.fused).equals(bits(separate)), `${name}: conv2dBiasRelu differs from conv2d then biasRelu`);
    }
  } finally {
    blas.setThreads(threads);
  }
});
