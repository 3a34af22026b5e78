/**
 * The gated feature map of GLAI's linear estimator (METHODS.md §3).
 *
 * The full path space of an MLP has (d+1)·n₁·…·n_L·K weights, exponential in depth.
 * lightpath keeps the paths input → h₁ unit i → h_g unit j → output k and gives
 * each (i, j, k) its own weight, with the first segment frozen to the selector's
 * first layer:
 *
 *   φ(x)_{(i,j)} = h̃₁(x)_i · m̃_g(x)_j,    h̃₁ = [ReLU(W₁x + b₁); 1],  m̃_g = [m_g(x); 1]
 *   y_k(x) = Σ_{i,j} U_{(i,j),k} φ(x)_{(i,j)}
 *
 * A path contributes only when both of its hidden units are on (h₁_i > 0 and
 * m_g,j = 1), so the output is the sum of the contributions of the active paths;
 * given the selector's masks it is linear in U (a gated linear unit layer in the
 * sense of Fiat et al. 2019, φ = x̃ ⊗ m with x̃ the first-layer representation).
 * The constant entries keep the first-layer features ungated (j = bias) and let
 * the gate alone act as a per-pattern offset (i = bias). The dimension is
 * (n₁ + 1)·(n_g + 1): 2,145 for a 784-64-32-10 selector with g = the last hidden
 * layer, small enough for the one-pass sufficient-statistics trainer.
 */
import * as tf from '@tensorflow/tfjs';
import { selectorPass, type SelectorWeights } from './selector.js';
import { InvalidInputError } from '../../contracts/errors.js';

/** Which selector layers the feature map uses (0-based hidden-layer indices). */
export interface FeatureSpec {
  /** Hidden layer whose ReLU outputs are the values (default 0, the first). */
  valueLayer: number;
  /** Hidden layer whose masks gate them (default: the last hidden layer). */
  gateLayer: number;
}

/** Feature dimension D for a selector and spec. */
export function featureDim(w: SelectorWeights, spec: FeatureSpec): number {
  const width = (l: number) => w.kernels[l]!.shape[1];
  return (width(spec.valueLayer) + 1) * (width(spec.gateLayer) + 1);
}

/** Checks a spec against the selector's hidden layers. */
export function checkFeatureSpec(w: SelectorWeights, spec: FeatureSpec): void {
  const hidden = w.kernels.length - 1;
  for (const [k, v] of Object.entries(spec)) {
    if (!Number.isInteger(v) || v < 0 || v >= hidden) throw new InvalidInputError(`glai.features.${k} = ${v} must name a hidden layer in [0, ${hidden - 1}]`);
  }
}

/** φ(x) for a batch `x` ([batch, n_in]) → [batch, D]. */
export function gatedFeatures(w: SelectorWeights, spec: FeatureSpec, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const { post, masks } = selectorPass(w, x);
    const b = x.shape[0];
    const ones = tf.ones([b, 1]);
    const value = tf.concat([post[spec.valueLayer]!, ones], 1);
    const gate = tf.concat([masks[spec.gateLayer]!, ones], 1);
    const outer = tf.matMul(value.expandDims(2), gate.expandDims(1));
    return outer.reshape([b, -1]) as tf.Tensor2D;
  });
}
