/**
 * Sinusoidal initialization, paper-exact form (METHODS.md §1).
 *
 *   W[i, j] = a · sin(2π·i·j / n + 2π·i / m),   i = 1..m (outputs), j = 0..n−1 (inputs)
 *
 * built in float64 with a = 1, then scaled so Var(W) (unbiased, ddof = 1) hits the
 * target: 2/(m+n) in Glorot mode (default), 2/fan_in in He mode.
 */

/** Amplitude rule: Glorot (the paper, default) or He (the authors' newest code). */
export type SinusoidalMode = 'glorot' | 'he';

/** Unbiased (ddof = 1) variance of a float64 array. */
function variance(w: Float64Array): number {
  let mean = 0;
  for (const v of w) mean += v;
  mean /= w.length;
  let s = 0;
  for (const v of w) s += (v - mean) * (v - mean);
  return s / (w.length - 1);
}

/**
 * Scales a float64 matrix [m, n] in place so its unbiased variance is the target of
 * `mode` (METHODS.md §1): 2/(m+n) for Glorot, 2/fan_in = 2/n for He. Returns it.
 */
export function scaleToTarget(w: Float64Array, m: number, n: number, mode: SinusoidalMode): Float64Array {
  const v = variance(w);
  const target = mode === 'glorot' ? 2 / (m + n) : 2 / n;
  const a = Math.sqrt(target / v);
  for (let k = 0; k < w.length; k++) w[k]! *= a;
  return w;
}

/**
 * The paper-exact sinusoidal matrix in [m, n] (rows = outputs) orientation, float64,
 * row-major, scaled to the target variance of `mode` with fan_in = n.
 */
export function sinusoidalMatrix(m: number, n: number, mode: SinusoidalMode = 'glorot'): Float64Array {
  const w = new Float64Array(m * n);
  for (let r = 0; r < m; r++) {
    const i = r + 1;
    for (let j = 0; j < n; j++) {
      w[r * n + j] = Math.sin((2 * Math.PI * i * j) / n + (2 * Math.PI * i) / m);
    }
  }
  return scaleToTarget(w, m, n, mode);
}

/**
 * Lays a matrix built in [m = outputs, n = inputs] orientation out in TensorFlow.js
 * order, as float32.
 *
 * - Dense kernel [n_in, n_out]: the [m = n_out, n = n_in] matrix, transposed.
 * - Conv kernel [kh, kw, c_in, c_out]: each output channel's kernel flattened in
 *   (c_in, kh, kw) order to a row of n = c_in·kh·kw, built with m = c_out
 *   (amplitude included: Glorot uses m + n of that flattened matrix), reshaped back.
 */
export function toTfjsLayout(shape: number[], build: (m: number, n: number) => Float64Array): Float32Array {
  if (shape.length === 2) {
    const [nIn, nOut] = shape as [number, number];
    const w = build(nOut, nIn);
    const out = new Float32Array(nIn * nOut);
    for (let o = 0; o < nOut; o++) for (let i = 0; i < nIn; i++) out[i * nOut + o] = w[o * nIn + i]!;
    return out;
  }
  if (shape.length === 4) {
    const [kh, kw, cIn, cOut] = shape as [number, number, number, number];
    const n = cIn * kh * kw;
    const w = build(cOut, n);
    const out = new Float32Array(kh * kw * cIn * cOut);
    for (let o = 0; o < cOut; o++)
      for (let c = 0; c < cIn; c++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++) {
            out[((y * kw + x) * cIn + c) * cOut + o] = w[o * n + (c * kh + y) * kw + x]!;
          }
    return out;
  }
  throw new Error(`sinusoidal init supports dense [n_in, n_out] and conv [kh, kw, c_in, c_out] kernels, got shape [${shape.join(', ')}]`);
}

/** Paper-exact sinusoidal kernel in TensorFlow.js layout (see `toTfjsLayout`), as float32. */
export function sinusoidalKernel(shape: number[], mode: SinusoidalMode = 'glorot'): Float32Array {
  return toTfjsLayout(shape, (m, n) => sinusoidalMatrix(m, n, mode));
}
