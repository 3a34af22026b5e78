/**
 * Applying and training GLAI estimators on a frozen selector (METHODS.md §3):
 * the linear estimator (weights U on the gated features, from statistics or SGD)
 * and the deep gated value network (a copy of the selector's weights whose hidden
 * units are gated by the selector's masks; non-linear in its parameters).
 */
import * as tf from '@tensorflow/tfjs';
import { gatedFeatures, type FeatureSpec } from './features.js';
import { selectorPass, type SelectorWeights } from './selector.js';
import type { LabelledData } from '../train/data.js';
import { Optimizer } from '../train/optimizer.js';
import { Rng } from '../rng.js';

/** Batched logits of `data` under `logitsOf`, and the accuracy they give. */
export async function accuracyOf(data: LabelledData, logitsOf: (x: tf.Tensor2D) => tf.Tensor2D, batchSize = 1000): Promise<number> {
  let correct = 0;
  for (let from = 0; from < data.count; from += batchSize) {
    const to = Math.min(data.count, from + batchSize);
    const hits = tf.tidy(() => {
      const x = tf.tensor2d(data.x.subarray(from * data.dim, to * data.dim), [to - from, data.dim]);
      return logitsOf(x)
        .argMax(1)
        .equal(tf.tensor1d(data.y.subarray(from, to), 'int32'))
        .sum();
    });
    correct += (await hits.data())[0]!;
    hits.dispose();
  }
  return correct / data.count;
}

/** Logits of the linear estimator: φ(x)·U, U row-major [D, K]. */
export function linearLogits(w: SelectorWeights, spec: FeatureSpec, u: tf.Tensor2D, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.matMul(gatedFeatures(w, spec, x), u));
}

/** Settings of the SGD trainers. */
export interface SgdSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
}

async function sgd(params: tf.Variable[], data: LabelledData, s: SgdSettings, loss: (x: tf.Tensor2D, y: tf.Tensor2D) => tf.Scalar): Promise<void> {
  const opt = new Optimizer({ name: 'adamw', weightDecay: 0, weightDecayMode: 'decoupled' });
  const rng = Rng.fromSeed(s.seed);
  const order = Int32Array.from({ length: data.count }, (_, i) => i);
  const xb = new Float32Array(s.batchSize * data.dim);
  const yb = new Int32Array(s.batchSize);
  try {
    for (let e = 0; e < s.epochs; e++) {
      rng.shuffle(order);
      for (let from = 0; from < data.count; from += s.batchSize) {
        const n = Math.min(s.batchSize, data.count - from);
        for (let r = 0; r < n; r++) {
          const i = order[from + r]!;
          xb.set(data.x.subarray(i * data.dim, (i + 1) * data.dim), r * data.dim);
          yb[r] = data.y[i]!;
        }
        tf.tidy(() => {
          const x = tf.tensor2d(xb.subarray(0, n * data.dim), [n, data.dim]);
          const y = tf.oneHot(tf.tensor1d(yb.subarray(0, n), 'int32'), data.classes) as tf.Tensor2D;
          const { grads } = tf.variableGrads(() => loss(x, y), params);
          opt.apply(
            params,
            params.map((p) => grads[p.name]!),
            s.learningRate,
          );
        });
        await new Promise<void>((r) => setImmediate(r));
      }
    }
  } finally {
    opt.dispose();
  }
}

/**
 * Trains (or continues training) the linear estimator U by SGD on softmax
 * cross-entropy — convex in U — for feature maps too large for the statistics.
 */
export async function trainLinearSgd(w: SelectorWeights, spec: FeatureSpec, u: Float32Array, data: LabelledData, s: SgdSettings): Promise<Float32Array> {
  const d = u.length / data.classes;
  const param = tf.variable(tf.tensor2d(u, [d, data.classes]), true);
  try {
    await sgd([param], data, s, (x, y) => tf.losses.softmaxCrossEntropy(y, linearLogits(w, spec, param as tf.Variable<tf.Rank.R2>, x)) as tf.Scalar);
    return (await param.data()) as Float32Array;
  } finally {
    param.dispose();
  }
}

/** Weights of a deep gated value network: one kernel and bias per selector layer. */
export interface ValueWeights {
  kernels: Float32Array[];
  biases: Float32Array[];
}

/** Logits of the deep gated value network: h_l = m_l(x) ⊙ (V_l h_{l−1} + c_l), masks from the selector. */
export function valueLogits(selector: SelectorWeights, kernels: tf.Tensor2D[], biases: tf.Tensor1D[], x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const { masks } = selectorPass(selector, x);
    let h: tf.Tensor2D = selector.trunk ? selector.trunk(x) : x;
    for (let l = 0; l < kernels.length - 1; l++) h = tf.matMul(h, kernels[l]!).add(biases[l]!).mul(masks[l]!);
    return tf.matMul(h, kernels.at(-1)!).add(biases.at(-1)!);
  });
}

/** The value network's starting point: the selector's own weights (it then reproduces the selector exactly). */
export async function valueWeightsFromSelector(selector: SelectorWeights): Promise<ValueWeights> {
  return {
    kernels: await Promise.all(selector.kernels.map(async (k) => (await k.data()) as Float32Array)),
    biases: await Promise.all(selector.biases.map(async (b) => (await b.data()) as Float32Array)),
  };
}

/** Trains the value network by SGD (multilinear in its weights; the masks stay the selector's). */
export async function trainValueNetwork(selector: SelectorWeights, start: ValueWeights, data: LabelledData, s: SgdSettings): Promise<ValueWeights> {
  const kernels = start.kernels.map((k, l) => tf.variable(tf.tensor2d(k, selector.kernels[l]!.shape), true));
  const biases = start.biases.map((b) => tf.variable(tf.tensor1d(b), true));
  try {
    await sgd([...kernels, ...biases], data, s, (x, y) => tf.losses.softmaxCrossEntropy(y, valueLogits(selector, kernels as tf.Tensor2D[], biases as tf.Tensor1D[], x)) as tf.Scalar);
    return {
      kernels: await Promise.all(kernels.map(async (k) => (await k.data()) as Float32Array)),
      biases: await Promise.all(biases.map(async (b) => (await b.data()) as Float32Array)),
    };
  } finally {
    [...kernels, ...biases].forEach((v) => v.dispose());
  }
}

/** Example-count-weighted average of same-shaped weight arrays (the merge of SGD-trained estimators). */
export function weightedAverage(parts: { weights: Float32Array[]; count: number }[]): Float32Array[] {
  const total = parts.reduce((s, p) => s + p.count, 0);
  return parts[0]!.weights.map((_, k) => {
    const out = new Float32Array(parts[0]!.weights[k]!.length);
    for (const p of parts) {
      const f = p.count / total;
      const w = p.weights[k]!;
      for (let i = 0; i < out.length; i++) out[i]! += f * w[i]!;
    }
    return out;
  });
}
