/**
 * The gated feature map of GLAI's linear estimator (METHODS.md §3).
 *
 * The full path space of an MLP has (d+1)·n₁·…·n_L·K weights, exponential in depth.
 * lightpath keeps the paths input → h_v unit i → gating unit j → output k and gives
 * each (i, j, k) its own weight, with the first segment frozen to the selector's
 * layers up to v:
 *
 *   φ(x)_{(i,j)} = h̃_v(x)_i · g̃(x)_j,   h̃_v = [ReLU(W_v h_{v−1} + b_v); 1],
 *   g̃ = [m_{g₁}(x); m_{g₂}(x); …; 1]     (the masks of the gating layers, stacked)
 *   y_k(x) = Σ_{i,j} U_{(i,j),k} φ(x)_{(i,j)}
 *
 * A path contributes only when both of its hidden units are on, so the output is
 * the sum of the contributions of the active paths; given the selector's masks it
 * is linear in U (a gated linear unit layer in the sense of Fiat et al. 2019,
 * φ = x̃ ⊗ m with x̃ the first-layer representation; gating on several layers
 * stacks their masks). The constant entries keep the value features ungated
 * (j = bias) and let the gates alone act as per-pattern offsets (i = bias). The
 * dimension is (n_v + 1)·(Σ n_g + 1): 2,145 for a 784-64-32-10 selector gated by
 * its last hidden layer, 6,305 gated by both. For a CNN the selector's `post` and
 * `masks` are those of its dense head (the frozen trunk feeds it), so the map is
 * the same over the head.
 */
import * as tf from '@tensorflow/tfjs';
import { selectorPass, type SelectorWeights } from './selector.js';
import { InvalidInputError } from '../../contracts/errors.js';

/** Which selector layers the feature map uses (0-based hidden-layer indices). */
export interface FeatureSpec {
  /** Hidden layer whose ReLU outputs are the values (default 0, the first). */
  valueLayer: number;
  /** Hidden layer whose masks gate them (default: the last hidden layer); `gateLayers`, when given, replaces it. */
  gateLayer: number;
  /** Several gating layers, their masks stacked (absent in bundles written before multi-layer gating). */
  gateLayers?: number[];
}

/** The gating layers of a spec, in order. */
export function gatesOf(spec: FeatureSpec): number[] {
  return spec.gateLayers ?? [spec.gateLayer];
}

/** Whether two specs build the same feature map (`gateLayer: 1` and `gateLayers: [1]` do). */
export function sameFeatureMap(a: FeatureSpec, b: FeatureSpec): boolean {
  return a.valueLayer === b.valueLayer && gatesOf(a).join() === gatesOf(b).join();
}

/** Width of the value part (n_v + 1) and of the gate part (Σ n_g + 1) of φ. */
export function featureShape(w: SelectorWeights, spec: FeatureSpec): { values: number; gates: number } {
  const width = (l: number) => w.kernels[l]!.shape[1];
  return { values: width(spec.valueLayer) + 1, gates: gatesOf(spec).reduce((s, l) => s + width(l), 0) + 1 };
}

/** Feature dimension D for a selector and spec. */
export function featureDim(w: SelectorWeights, spec: FeatureSpec): number {
  const { values, gates } = featureShape(w, spec);
  return values * gates;
}

/** Checks a spec against the selector's hidden layers. */
export function checkFeatureSpec(w: SelectorWeights, spec: FeatureSpec): void {
  const hidden = w.kernels.length - 1;
  const check = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 0 || v >= hidden) throw new InvalidInputError(`glai.${name} = ${v} must name a hidden layer in [0, ${hidden - 1}]`);
  };
  check('valueLayer', spec.valueLayer);
  check('gateLayer', spec.gateLayer);
  const gates = gatesOf(spec);
  if (gates.length === 0) throw new InvalidInputError('glai.gateLayers must name at least one hidden layer');
  gates.forEach((g, k) => check(`gateLayers[${k}]`, g));
  if (new Set(gates).size !== gates.length) throw new InvalidInputError(`glai.gateLayers = [${gates.join(', ')}] names a layer twice`);
}

/** Indices of the features whose value part is the constant 1 (pure gate products and the bias): i = n_v. */
export function biasFeatures(w: SelectorWeights, spec: FeatureSpec): number[] {
  const { values, gates } = featureShape(w, spec);
  return Array.from({ length: gates }, (_, j) => (values - 1) * gates + j);
}

/** The value part h̃_v and the gate part g̃ of φ for a batch: φ = h̃_v ⊗ g̃ row by row. */
export function featureFactors(w: SelectorWeights, spec: FeatureSpec, x: tf.Tensor): { value: tf.Tensor2D; gate: tf.Tensor2D } {
  return tf.tidy(() => {
    const { post, masks } = selectorPass(w, x as tf.Tensor2D);
    const ones = tf.ones([post[0]!.shape[0], 1]);
    const value = tf.concat([post[spec.valueLayer]!, ones], 1) as tf.Tensor2D;
    const gate = tf.concat([...gatesOf(spec).map((g) => masks[g]!), ones], 1) as tf.Tensor2D;
    return { value, gate };
  });
}

/** φ(x) for a batch `x` ([batch, n_in], or the CNN's input shape) → [batch, D]. */
export function gatedFeatures(w: SelectorWeights, spec: FeatureSpec, x: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const { value, gate } = featureFactors(w, spec, x);
    const outer = tf.matMul(value.expandDims(2), gate.expandDims(1));
    return outer.reshape([value.shape[0], -1]) as tf.Tensor2D;
  });
}
