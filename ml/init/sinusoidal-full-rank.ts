/**
 * Sinusoidal initialization, full-rank variant (lightpath's own; METHODS.md §1,
 * "Known weakness").
 *
 * The paper's row i oscillates i times over the n inputs. Once i ≥ n/2 the frequency
 * passes Nyquist and aliases: rows i and n−i become (anti-)parallel, row n/2 and row
 * n vanish, and m > n repeats rows. Here every row keeps a frequency strictly below
 * Nyquist, and rows that must share a frequency are told apart by phase:
 *
 * 1. F = ⌈n/2⌉ − 1 integer frequencies are available (1 … F < n/2). Over the n
 *    inputs, sin(2πfj/n + φ) has a zero sum for each of them, and two phases π/2
 *    apart (sine and cosine) are orthogonal to each other and to every other
 *    integer frequency.
 * 2. Rows 0 … min(m, 2F) − 1 take frequency f = (r mod F) + 1 and phase
 *    θ_f + (⌊r/F⌋)·π/2 with the per-frequency offset θ_f = 2π·f/m (the paper's
 *    per-row phase, so rows do not all start at one value). For m ≤ 2F the rows
 *    are exactly orthogonal with equal norms (condition number 1), zero-sum, full
 *    row rank; for m ≤ F each row has its own frequency, as in the paper.
 * 3. Rows beyond 2F (square and tall layers) take half-integer frequencies
 *    g = (r' mod F) + ½ ∈ {½ … F − ½} (still below Nyquist), with the rows that share
 *    g spread over phases π·q/Q in [0, π) (q-th of Q rows with that g), plus θ_g. A
 *    half-integer sinusoid does not sum to zero over n points, so these rows are
 *    centred (their mean subtracted). They supply the directions the integer ones
 *    cannot (for even n, the alternating vector), so the rank reaches n − 1.
 *
 * Every row sums to zero, so every neuron ignores the common mean of its inputs
 * (no skewed neurons after a ReLU layer). A consequence: no matrix whose rows all
 * sum to zero has rank above n − 1, so "full rank" here means rank min(m, n − 1):
 * full row rank for every m < n, and the whole zero-sum subspace for m ≥ n (the
 * paper's form gives n/2 − 1 for square layers). No row is constant, zero, or a
 * duplicate or negation of another (distinct (frequency, phase) pairs, phases in
 * [0, π)). Finally the matrix is scaled, as in the paper, to the target variance.
 */
import type { SinusoidalMode } from './sinusoidal.js';
import { scaleToTarget, toTfjsLayout } from './sinusoidal.js';

/** Full-rank sinusoidal matrix in [m, n] (rows = outputs) orientation, float64, scaled for `mode`. */
export function sinusoidalFullRankMatrix(m: number, n: number, mode: SinusoidalMode = 'glorot'): Float64Array {
  const w = new Float64Array(m * n);
  const F = Math.max(1, Math.ceil(n / 2) - 1);
  const integerRows = Math.min(m, 2 * F);
  for (let r = 0; r < integerRows; r++) {
    const f = (r % F) + 1;
    const phase = (2 * Math.PI * f) / m + Math.floor(r / F) * (Math.PI / 2);
    for (let j = 0; j < n; j++) w[r * n + j] = Math.sin((2 * Math.PI * f * j) / n + phase);
  }
  const extra = m - integerRows;
  for (let e = 0; e < extra; e++) {
    const r = integerRows + e;
    const g = (e % F) + 0.5;
    const q = Math.floor(e / F);
    const shareCount = Math.floor((extra - 1 - (e % F)) / F) + 1;
    const phase = (2 * Math.PI * g) / m + (Math.PI * q) / shareCount;
    let mean = 0;
    for (let j = 0; j < n; j++) {
      const v = Math.sin((2 * Math.PI * g * j) / n + phase);
      w[r * n + j] = v;
      mean += v;
    }
    mean /= n;
    for (let j = 0; j < n; j++) w[r * n + j]! -= mean;
  }
  return scaleToTarget(w, m, n, mode);
}

/** Full-rank sinusoidal kernel in TF.js layout (dense [n_in, n_out] or conv [kh, kw, c_in, c_out]), float32. */
export function sinusoidalFullRankKernel(shape: number[], mode: SinusoidalMode = 'glorot'): Float32Array {
  return toTfjsLayout(shape, (m, n) => sinusoidalFullRankMatrix(m, n, mode));
}
