/**
 * GLAI's one-pass trainer (METHODS.md §3, consequence 1): sufficient statistics
 * A = Σ φ(x)φ(x)ᵀ and B = Σ φ(x)yᵀ (y one-hot), then W solves (A + λ'I)W = B.
 *
 * Per batch the products run on the tensor backend in float32; the running sums
 * are kept on the host in float64, so accumulating many batches loses nothing.
 * Statistics add: incremental retraining adds a new shard's statistics (reading only
 * the new samples) and merging sums those of several sites — both give exactly what
 * training on the union would (consequences 2 and 3). The ridge term is scaled to
 * the data, λ' = λ·trace(A)/D, and is a function of the summed statistics only, so
 * that equality holds for the solved weights too.
 */
import * as tf from '@tensorflow/tfjs';
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { gatedFeatures, type FeatureSpec } from './features.js';
import type { SelectorWeights } from './selector.js';
import type { LabelledData } from '../train/data.js';
import { InvalidInputError } from '../errors.js';

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

/** Adds the statistics of `data` to `stats` (in place), `batchSize` samples at a time. */
export async function accumulateStats(stats: LinearStats, w: SelectorWeights, data: LabelledData, batchSize = 512): Promise<LinearStats> {
  if (data.classes !== stats.classes) throw new InvalidInputError(`data has ${data.classes} classes, the estimator ${stats.classes}`);
  for (let from = 0; from < data.count; from += batchSize) {
    const to = Math.min(data.count, from + batchSize);
    const [ata, aty] = tf.tidy(() => {
      const x = tf.tensor2d(data.x.subarray(from * data.dim, to * data.dim), [to - from, data.dim]);
      const y = tf.oneHot(tf.tensor1d(data.y.subarray(from, to), 'int32'), data.classes).toFloat();
      const phi = gatedFeatures(w, stats.spec, x);
      return [tf.matMul(phi, phi, true, false), tf.matMul(phi, y, true, false)];
    });
    const [da, db] = await Promise.all([ata!.data(), aty!.data()]);
    tf.dispose([ata!, aty!]);
    for (let k = 0; k < da.length; k++) stats.a[k]! += da[k]!;
    for (let k = 0; k < db.length; k++) stats.b[k]! += db[k]!;
    stats.count += to - from;
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
    if (p.dim !== first.dim || p.classes !== first.classes || JSON.stringify(p.spec) !== JSON.stringify(first.spec)) {
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

/** Solves (A + λ·trace(A)/D·I)W = B by Cholesky; returns W row-major [dim, classes] (float64). */
export function solveStats(stats: LinearStats, lambda: number): Float64Array {
  const d = stats.dim;
  let trace = 0;
  for (let i = 0; i < d; i++) trace += stats.a[i * d + i]!;
  const ridge = (lambda * trace) / d || lambda;
  const a = new Matrix(d, d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) a.set(i, j, stats.a[i * d + j]! + (i === j ? ridge : 0));
  const chol = new CholeskyDecomposition(a);
  if (!chol.isPositiveDefinite()) throw new InvalidInputError(`GLAI statistics are not positive definite (λ = ${lambda}); raise glai.lambda`);
  const b = new Matrix(d, stats.classes);
  for (let i = 0; i < d; i++) for (let k = 0; k < stats.classes; k++) b.set(i, k, stats.b[i * stats.classes + k]!);
  const w = chol.solve(b);
  const out = new Float64Array(d * stats.classes);
  for (let i = 0; i < d; i++) for (let k = 0; k < stats.classes; k++) out[i * stats.classes + k] = w.get(i, k);
  return out;
}
