/**
 * GLAI's one-pass trainer (METHODS.md §3, consequence 1): sufficient statistics
 * A = Σ φ(x)φ(x)ᵀ and B = Σ φ(x)yᵀ (y one-hot); ml/glai/solve.ts solves them.
 *
 * Per batch the selector runs on the tensor backend; the products then run either
 * on the native BLAS provider in float64 from φ's factors, block by gate pair (where
 * it is built: exact products, float64 sums), or on the tensor backend in float32
 * from φ itself, split so they are (nearly) exact (see `accumulateStats`); the
 * running sums are kept on the host in float64, so accumulating many batches loses
 * nothing.
 * Statistics add: incremental retraining adds a new shard's statistics (reading only
 * the new samples) and merging sums those of several sites — both give exactly what
 * training on the union would (consequences 2 and 3); the solve is a function of
 * the summed statistics only, so that equality holds for the solved weights too.
 */
import * as tf from '@tensorflow/tfjs';
import { featureFactors, gatedFeatures, sameFeatureMap, type FeatureSpec } from './features.js';
import type { SelectorWeights } from './selector.js';
import type { LabelledData } from '../train/data.js';
import { InvalidInputError } from '../../contracts/errors.js';
import { nativeBlas, type NativeBlas } from '../backend/native/addon.js';
import { activeBlas, ridgeSolve } from './solve.js';

/** Sufficient statistics of a linear estimator on one structure. */
export interface LinearStats {
  structureId: string;
  spec: FeatureSpec;
  dim: number;
  classes: number;
  count: number;
  /** Σ φφᵀ, row-major [dim, dim]. */
  a: Float64Array;
  /** Σ φyᵀ, row-major [dim, classes]. */
  b: Float64Array;
}

/** Empty statistics for a structure. */
export function emptyStats(structureId: string, spec: FeatureSpec, dim: number, classes: number): LinearStats {
  return { structureId, spec, dim, classes, count: 0, a: new Float64Array(dim * dim), b: new Float64Array(dim * classes) };
}

/** Samples per batch: with 8-bit high parts, a batch's products sum exactly in float32 (2^14 · 2^9 < 2^24). */
const EXACT_BATCH = 512;

/**
 * Adds the statistics of `data` to `stats` (in place).
 *
 * A float32 matmul rounds each batch's sums (relative error ~1e-7), and the solve
 * amplifies that by the condition number, so merged and central estimators would
 * differ by ~1e-3. Each batch is therefore split (Ozaki-style) per feature column:
 * with σ_i the power of two ≥ max |φ_i| over the batch, H = round(φ/σ · 2⁷)/2⁷ · σ
 * and L = φ − H (both exact). Every product H_i·H_j is an integer multiple of
 * σ_iσ_j·2⁻¹⁴ of at most 2¹⁴ units, so HᵀH sums exactly in float32 over ≤ 512
 * samples; the cross terms HᵀL + LᵀH and LᵀL are 2⁻⁸ and 2⁻¹⁶ smaller, so their
 * rounding is ~1e-10 of A. B = ΦᵀY splits the same way. The result: statistics
 * accurate to ~1e-9 whatever the batch boundaries, so sums of shards equal the union.
 */
export async function accumulateStats(stats: LinearStats, w: SelectorWeights, data: LabelledData, onProgress?: (done: number, total: number) => void): Promise<LinearStats> {
  if (data.classes !== stats.classes) throw new InvalidInputError(`data has ${data.classes} classes, the estimator ${stats.classes}`);
  const native = nativeBlas();
  return native.active ? accumulateNative(native.blas, stats, w, data, onProgress) : accumulateOnBackend(stats, w, data, onProgress);
}

/** `accumulateStats` on the tensor backend: float32 products split so they are nearly exact. */
export async function accumulateOnBackend(stats: LinearStats, w: SelectorWeights, data: LabelledData, onProgress?: (done: number, total: number) => void): Promise<LinearStats> {
  for (let from = 0; from < data.count; from += EXACT_BATCH) {
    const to = Math.min(data.count, from + EXACT_BATCH);
    const phi = tf.tidy(() => gatedFeatures(w, stats.spec, tf.tensor2d(data.x.subarray(from * data.dim, to * data.dim), [to - from, data.dim])));
    const colMax = tf.tidy(() => phi.abs().max(0));
    const maxima = await colMax.data();
    colMax.dispose();
    const sigma = Float32Array.from(maxima, (m) => (m > 0 ? 2 ** Math.ceil(Math.log2(m)) : 1));
    const parts = tf.tidy(() => {
      const sig = tf.tensor1d(sigma);
      const hi = phi.div(sig).mul(128).round().div(128).mul(sig);
      const lo = phi.sub(hi);
      const y = tf.oneHot(tf.tensor1d(data.y.subarray(from, to), 'int32'), data.classes).toFloat();
      const hl = tf.matMul(hi, lo, true, false);
      return [tf.matMul(hi, hi, true, false), hl.add(hl.transpose()).add(tf.matMul(lo, lo, true, false)), tf.matMul(hi, y, true, false), tf.matMul(lo, y, true, false)];
    });
    phi.dispose();
    const [hh, cross, hy, ly] = await Promise.all(parts.map((t) => t.data()));
    tf.dispose(parts);
    for (let k = 0; k < hh!.length; k++) stats.a[k]! += hh![k]! + cross![k]!;
    for (let k = 0; k < hy!.length; k++) stats.b[k]! += hy![k]! + ly![k]!;
    stats.count += to - from;
    onProgress?.(to, data.count);
  }
  return stats;
}

/** Samples per batch of the float64 path (each gate pair's product then spans about a quarter of them). */
const NATIVE_BATCH = 8192;

/**
 * `accumulateStats` on the native provider: the factors of φ (values h̃ and gates g̃)
 * per batch on the tensor backend, A and B updated gate pair by gate pair in float64
 * without forming φ (linalg.c's `gatedGram`).
 */
export async function accumulateNative(blas: NativeBlas, stats: LinearStats, w: SelectorWeights, data: LabelledData, onProgress?: (done: number, total: number) => void): Promise<LinearStats> {
  for (let from = 0; from < data.count; from += NATIVE_BATCH) {
    const to = Math.min(data.count, from + NATIVE_BATCH);
    const { value, gate, y } = tf.tidy(() => ({
      ...featureFactors(w, stats.spec, tf.tensor2d(data.x.subarray(from * data.dim, to * data.dim), [to - from, data.dim])),
      y: tf.oneHot(tf.tensor1d(data.y.subarray(from, to), 'int32'), data.classes).toFloat(),
    }));
    const [nv, ng] = [value.shape[1], gate.shape[1]];
    const [v, g, yy] = (await Promise.all([value.data(), gate.data(), y.data()])) as Float32Array[];
    tf.dispose([value, gate, y]);
    if (nv * ng !== stats.dim) throw new InvalidInputError(`the selector's feature map has ${nv * ng} features, the statistics ${stats.dim}`);
    blas.gatedGram(stats.a, stats.b, v!, g!, yy!, to - from, nv, ng, stats.classes);
    stats.count += to - from;
    onProgress?.(to, data.count);
  }
  return stats;
}

/**
 * Sum of statistics (merge / incremental update). All must share one structure and
 * feature map; otherwise the error names both structure ids.
 */
export function addStats(parts: LinearStats[]): LinearStats {
  if (parts.length === 0) throw new InvalidInputError('nothing to merge');
  const first = parts[0]!;
  for (const p of parts.slice(1)) {
    if (p.structureId !== first.structureId) {
      throw new InvalidInputError(`cannot merge estimators of different structures: ${first.structureId} and ${p.structureId}`);
    }
    if (p.dim !== first.dim || p.classes !== first.classes || !sameFeatureMap(p.spec, first.spec)) {
      throw new InvalidInputError(`cannot merge estimators with different feature maps on structure ${first.structureId}`);
    }
  }
  const out = emptyStats(first.structureId, first.spec, first.dim, first.classes);
  for (const p of parts) {
    for (let k = 0; k < out.a.length; k++) out.a[k]! += p.a[k]!;
    for (let k = 0; k < out.b.length; k++) out.b[k]! += p.b[k]!;
    out.count += p.count;
  }
  return out;
}

/**
 * Plain ridge (A + λ·trace(A)/D·I)W = B at a fixed λ, toward zero (ml/glai/solve.ts's
 * `ridgeSolve`; `blas`, default: the loaded native provider); W row-major [dim, classes].
 */
export function solveStats(stats: LinearStats, lambda: number, blas: NativeBlas | null = activeBlas()): Float64Array {
  return ridgeSolve(stats, lambda, new Float64Array(stats.dim).fill(1), null, 0, blas);
}
