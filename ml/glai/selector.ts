/**
 * GLAI structure (METHODS.md §3): a frozen ReLU MLP, the *path selector*, whose
 * on/off patterns decide which paths are active for a sample. Its structure id is
 * the SHA-256 of its architecture and weights, so estimators built on different
 * selectors can be told apart (and refused when merged).
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import type { ModelParts } from '../models/io.js';
import { InvalidInputError } from '../../contracts/errors.js';

/** Dense layers of a selector: kernels [n_in, n_out] and biases, in order (last = classifier). */
export interface SelectorWeights {
  kernels: tf.Tensor2D[];
  biases: tf.Tensor1D[];
}

/** SHA-256 over the canonical JSON of the topology and the weight bytes. */
export function structureId(parts: ModelParts): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(parts.modelTopology));
  h.update(JSON.stringify(parts.weightSpecs));
  h.update(parts.weightData);
  return h.digest('hex');
}

/** The dense kernels and biases of an MLP selector (every layer must be dense; hidden ones ReLU). */
export function selectorWeights(model: tf.LayersModel): SelectorWeights {
  const kernels: tf.Tensor2D[] = [];
  const biases: tf.Tensor1D[] = [];
  model.layers.forEach((layer, l) => {
    if (layer.getClassName() === 'InputLayer') return;
    const cfg = layer.getConfig() as { activation?: string };
    const last = l === model.layers.length - 1;
    if (layer.getClassName() !== 'Dense' || (!last && cfg.activation !== 'relu')) {
      throw new InvalidInputError(`GLAI selector must be an MLP of dense ReLU layers; layer ${layer.name} is ${layer.getClassName()} (${cfg.activation})`);
    }
    const [k, b] = layer.getWeights();
    kernels.push(k as tf.Tensor2D);
    biases.push(b as tf.Tensor1D);
  });
  return { kernels, biases };
}

/**
 * Hidden-layer pre-activations, post-activations and masks of the selector on `x`
 * ([batch, n_in]); masks are float 0/1 (1 = unit on).
 */
export function selectorPass(w: SelectorWeights, x: tf.Tensor2D): { pre: tf.Tensor2D[]; post: tf.Tensor2D[]; masks: tf.Tensor2D[] } {
  const pre: tf.Tensor2D[] = [];
  const post: tf.Tensor2D[] = [];
  const masks: tf.Tensor2D[] = [];
  let h = x;
  for (let l = 0; l < w.kernels.length - 1; l++) {
    const z = tf.matMul(h, w.kernels[l]!).add(w.biases[l]!) as tf.Tensor2D;
    const m = z.greater(0).toFloat() as tf.Tensor2D;
    h = z.mul(m);
    pre.push(z);
    post.push(h);
    masks.push(m);
  }
  return { pre, post, masks };
}
