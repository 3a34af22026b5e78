/**
 * Initialization diagnostics (METHODS.md §1): skewed neurons and OUI at init of a
 * plain ReLU MLP (Linear → ReLU → … → Linear, zero biases) on N(0, 1) inputs.
 */
import * as tf from '@tensorflow/tfjs';
import { ouiBatch } from '../oui.js';

/**
 * Share of units that are skewed with degree α: |P(z > 0) − ½| > α, P estimated
 * over the rows of `z` ([samples, units]).
 */
export async function skewedShare(z: tf.Tensor2D, alpha: number): Promise<number> {
  const p = tf.tidy(() => z.greater(0).toFloat().mean(0).sub(0.5).abs().greater(alpha).toFloat().mean());
  const v = (await p.data())[0]!;
  p.dispose();
  return v;
}

/**
 * Mean OUI of the on/off patterns [z > 0] over consecutive batches of `batch`
 * samples using all C(batch, 2) pairs (batch 8 → the authors' k = 28).
 */
export async function ouiOfPatterns(z: tf.Tensor2D, batch = 8): Promise<number> {
  const i: number[] = [];
  const j: number[] = [];
  for (let a = 0; a < batch; a++) {
    for (let b = a + 1; b < batch; b++) {
      i.push(a);
      j.push(b);
    }
  }
  const batches = Math.floor(z.shape[0] / batch);
  const v = tf.tidy(() => {
    const vals: tf.Scalar[] = [];
    for (let k = 0; k < batches; k++) vals.push(ouiBatch([z.slice([k * batch, 0], [batch, -1])], { i, j }));
    return tf.stack(vals).mean();
  });
  const out = (await v.data())[0]!;
  v.dispose();
  return out;
}

/**
 * Pre-activations of every Linear layer of a zero-bias ReLU MLP with the given
 * kernels ([n_in, n_out] each) on `x`: z_1 = x·W_1, z_l = ReLU(z_{l−1})·W_l.
 */
export function mlpPreActivations(x: tf.Tensor2D, kernels: tf.Tensor2D[]): tf.Tensor2D[] {
  const zs: tf.Tensor2D[] = [];
  let h: tf.Tensor2D = x;
  kernels.forEach((w, l) => {
    const input: tf.Tensor2D = l === 0 ? h : tf.relu(h);
    const z: tf.Tensor2D = tf.matMul(input, w);
    zs.push(z);
    h = z;
  });
  return zs;
}
