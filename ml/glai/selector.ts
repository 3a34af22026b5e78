/**
 * GLAI structure (METHODS.md §3): a frozen ReLU network, the *path selector*, whose
 * on/off patterns decide which paths are active for a sample. For an MLP the
 * selector is the whole network; for a CNN it is the dense ReLU head, and the
 * convolutional trunk up to the flatten is frozen with it (its ReLUs are part of
 * which paths are active, so it belongs to the structure): the head's input is the
 * trunk's flattened output and the head's hidden layers gate the features. Its
 * structure id is the SHA-256 of its architecture and weights (trunk included), so
 * estimators built on different selectors can be told apart (and refused when
 * merged).
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import type { ModelParts } from '../models/io.js';
import { InvalidInputError } from '../../contracts/errors.js';

/**
 * Dense layers of a selector's head: kernels [n_in, n_out] and biases, in order
 * (last = classifier), and, for a CNN, the frozen trunk before them.
 */
export interface SelectorWeights {
  kernels: tf.Tensor2D[];
  biases: tf.Tensor1D[];
  /** CNN: the frozen trunk, samples as they arrive flattened [batch, h·w·c] → the head's input [batch, n₀]; absent for an MLP. */
  trunk?: (x: tf.Tensor2D) => tf.Tensor2D;
}

/** SHA-256 over the canonical JSON of the topology and the weight bytes. */
export function structureId(parts: ModelParts): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(parts.modelTopology));
  h.update(JSON.stringify(parts.weightSpecs));
  h.update(parts.weightData);
  return h.digest('hex');
}

/**
 * The selector of a trained model: its trailing dense layers are the head (hidden
 * ones ReLU, at least one hidden layer), everything before them the frozen trunk,
 * which must end in a flat output (a CNN's flatten). An MLP has no trunk. A model
 * whose head has no hidden layer (the residual CNN: global pooling → logits) is
 * refused: there is no ReLU layer to gate the features. The head's widths set the
 * feature dimension; for a CNN use a narrow head such as [64, 32] (D = 6,305 gated
 * on both layers; the default [128] gives D = 16,641), see bench/glai-cnn.ts.
 */
export function selectorWeights(model: tf.LayersModel): SelectorWeights {
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  let split = layers.length - 1;
  while (split >= 0 && layers[split]!.getClassName() === 'Dense') split--;
  const head = layers.slice(split + 1);
  if (head.length < 2) {
    const before = split >= 0 ? ` after ${layers[split]!.name} (${layers[split]!.getClassName()})` : '';
    throw new InvalidInputError(
      `GLAI selector ${model.name} needs a dense ReLU head with at least one hidden layer; its head${before} has ${head.length === 0 ? 'no dense layer' : 'only the classifier'}`,
    );
  }
  head.slice(0, -1).forEach((layer) => {
    const { activation } = layer.getConfig() as { activation?: string };
    if (activation !== 'relu') throw new InvalidInputError(`GLAI selector ${model.name}: hidden dense layer ${layer.name} must be ReLU, is ${activation}`);
  });
  const weights = head.map((layer) => layer.getWeights());
  return {
    kernels: weights.map(([k]) => k as tf.Tensor2D),
    biases: weights.map(([, b]) => b as tf.Tensor1D),
    ...(split >= 0 ? { trunk: frozenTrunk(model, layers[split]!) } : {}),
  };
}

/** The model's layers up to `last` as a function of flattened samples; `last` must output [batch, n]. */
function frozenTrunk(model: tf.LayersModel, last: tf.layers.Layer): (x: tf.Tensor2D) => tf.Tensor2D {
  const out = last.outputShape as number[];
  if (out.length !== 2) throw new InvalidInputError(`GLAI selector ${model.name}: the dense head must follow a flat layer; ${last.name} outputs ${out.slice(1).join('×')}`);
  const trunk = tf.model({ inputs: model.inputs, outputs: last.output as tf.SymbolicTensor });
  const shape = model.inputs[0]!.shape.slice(1) as number[];
  return (x) => trunk.apply(x.reshape([x.shape[0], ...shape]), { training: false }) as tf.Tensor2D;
}

/**
 * Hidden-layer pre-activations, post-activations and masks of the selector's head
 * on `x` ([batch, n_in], flattened samples; a CNN's trunk runs first); masks are
 * float 0/1 (1 = unit on).
 */
export function selectorPass(w: SelectorWeights, x: tf.Tensor2D): { pre: tf.Tensor2D[]; post: tf.Tensor2D[]; masks: tf.Tensor2D[] } {
  return tf.tidy(() => {
    const pre: tf.Tensor2D[] = [];
    const post: tf.Tensor2D[] = [];
    const masks: tf.Tensor2D[] = [];
    let h = w.trunk ? w.trunk(x) : x;
    for (let l = 0; l < w.kernels.length - 1; l++) {
      const z = tf.matMul(h, w.kernels[l]!).add(w.biases[l]!) as tf.Tensor2D;
      const m = z.greater(0).toFloat() as tf.Tensor2D;
      h = z.mul(m);
      pre.push(z);
      post.push(h);
      masks.push(m);
    }
    return { pre, post, masks };
  });
}

/** The selector's own logits on flattened samples `x` (trunk, hidden layers, classifier). */
export function selectorLogits(w: SelectorWeights, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const { post } = selectorPass(w, x);
    return tf.matMul(post.at(-1)!, w.kernels.at(-1)!).add(w.biases.at(-1)!) as tf.Tensor2D;
  });
}
