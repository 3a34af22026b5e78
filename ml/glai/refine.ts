/**
 * Optional cross-entropy refinement of GLAI's linear estimator (METHODS.md §3):
 * Böhning's bound for multinomial logistic regression. The Hessian of the softmax
 * cross-entropy in W is bounded by ½(I − 11ᵀ/K) ⊗ A for every W (A = ΣφφᵀT, the
 * statistics already accumulated), so with the ridge toward the selector the step
 *
 *   W ← W − (½A + λ'P)⁻¹ · [Φᵀ(softmax(ΦW) − Y) + λ'P(W − U_sel)] · (I − 11ᵀ/K)
 *
 * never increases the penalised loss and uses one fixed matrix. Each step needs the
 * gradient, one pass over the training data (the statistics alone do not give it),
 * so the refined estimator is no longer one-pass and a merge needs a gradient
 * round; it is off by default. Softmax is invariant to adding a constant to every
 * class, so the class-mean part of the step is dropped. The step with the best
 * validation accuracy (step 0 = the start) is kept.
 */
import * as tf from '@tensorflow/tfjs';
import { gatedFeatures, type FeatureSpec } from './features.js';
import type { SelectorWeights } from './selector.js';
import type { LinearStats } from './statistics.js';
import { accuracyOf, linearLogits } from './estimator.js';
import type { LabelledData } from '../train/data.js';
import { ridgeSolve, type SolvePlan } from './solve.js';
import type { NativeBlas } from '../backend/native/addon.js';

/** The refinement's ridge toward the selector, relative to the mean diagonal of A (measured best of 1e-3 and 1e-2 on Fashion-MNIST). */
export const REFINE_LAMBDA = 1e-3;

/** Refinement settings: steps (passes) and the ridge toward the selector, relative to the mean diagonal of A. */
export interface RefineOptions {
  steps: number;
  lambda: number;
}

/** One refinement step's record: the penalised training loss (per sample) before it and the validation accuracy after it. */
export interface RefineStep {
  step: number;
  trainLoss: number;
  valAccuracy: number;
}

const BATCH = 2048;

/** Φᵀ(softmax(ΦW) − Y) over `data` (float64 sums of float32 batch products) and the mean cross-entropy. */
export async function crossEntropyGradient(w: SelectorWeights, spec: FeatureSpec, u: Float64Array, classes: number, data: LabelledData): Promise<{ g: Float64Array; loss: number }> {
  const g = new Float64Array(u.length);
  let loss = 0;
  const ut = tf.tensor2d(Float32Array.from(u), [u.length / classes, classes]);
  try {
    for (let from = 0; from < data.count; from += BATCH) {
      const to = Math.min(data.count, from + BATCH);
      const [grad, sum] = tf.tidy(() => {
        const phi = gatedFeatures(w, spec, tf.tensor2d(data.x.subarray(from * data.dim, to * data.dim), [to - from, data.dim]));
        const logits = tf.matMul(phi, ut);
        const y = tf.oneHot(tf.tensor1d(data.y.subarray(from, to), 'int32'), classes).toFloat();
        const residual = tf.softmax(logits).sub(y);
        const ce = tf.logSoftmax(logits).mul(y).sum().neg();
        return [tf.matMul(phi, residual, true, false), ce];
      });
      const [gd, sd] = await Promise.all([grad!.data(), sum!.data()]);
      tf.dispose([grad!, sum!]);
      for (let k = 0; k < g.length; k++) g[k]! += gd[k]!;
      loss += sd[0]!;
    }
  } finally {
    ut.dispose();
  }
  return { g, loss: loss / data.count };
}

/** Böhning steps from `start` (see the file's doc); returns the best weights on `val` and every step's record. */
export async function bohningRefine(
  w: SelectorWeights,
  spec: FeatureSpec,
  stats: LinearStats,
  start: Float64Array,
  prior: Float64Array | null,
  plan: SolvePlan,
  opts: RefineOptions,
  train: LabelledData,
  val: LabelledData,
  blas: NativeBlas | null,
): Promise<{ w: Float64Array; steps: RefineStep[] }> {
  const { dim: d, classes: k } = stats;
  const half: LinearStats = { ...stats, a: stats.a.map((v) => v / 2), b: new Float64Array(d * k) };
  const penalty = new Float64Array(d).fill(1);
  for (const i of plan.biasFeatures) penalty[i] = plan.biasPenalty;
  let trace = 0;
  for (let i = 0; i < d; i++) trace += half.a[i * d + i]!;
  const ridge = (opts.lambda * trace) / d || opts.lambda;
  const score = async (u: Float64Array) => {
    const t = tf.tensor2d(Float32Array.from(u), [d, k]);
    const acc = await accuracyOf(val, (x) => linearLogits(w, spec, t, x));
    t.dispose();
    return acc;
  };
  let current = Float64Array.from(start);
  let best = { w: current, acc: await score(current) };
  const steps: RefineStep[] = [{ step: 0, trainLoss: NaN, valAccuracy: best.acc }];
  for (let s = 1; s <= opts.steps; s++) {
    const { g, loss } = await crossEntropyGradient(w, spec, current, k, train);
    let penalised = 0;
    for (let i = 0; i < d; i++) {
      let mean = 0;
      for (let c = 0; c < k; c++) {
        const delta = current[i * k + c]! - (prior ? prior[i * k + c]! : 0);
        penalised += 0.5 * ridge * penalty[i]! * delta * delta;
        g[i * k + c]! += ridge * penalty[i]! * delta;
        mean += g[i * k + c]!;
      }
      for (let c = 0; c < k; c++) g[i * k + c]! -= mean / k;
    }
    half.b = g;
    const step = ridgeSolve(half, opts.lambda, penalty, null, 0, blas);
    current = current.map((v, i) => v - step[i]!);
    const acc = await score(current);
    steps.push({ step: s, trainLoss: loss + penalised / train.count, valAccuracy: acc });
    if (acc > best.acc) best = { w: current, acc };
  }
  return { w: best.w, steps };
}
