/**
 * LSUV, layer-sequential unit-variance initialization (Mishkin & Matas 2016), a
 * data-dependent baseline: start from orthogonal weights, then for each layer in
 * order scale its kernel until its pre-activation output over one batch has unit
 * variance (a few iterations per layer; tolerance 0.01 by default).
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '../../contracts/errors.js';

/** LSUV settings. */
export interface LsuvOptions {
  tolerance?: number;
  maxIterations?: number;
}

function preActivation(layer: tf.layers.Layer, input: tf.Tensor): tf.Tensor {
  const cfg = layer.getConfig() as { activation?: string };
  if (cfg.activation === undefined) return layer.apply(input) as tf.Tensor;
  const [kernel, bias] = layer.getWeights();
  if (kernel!.rank === 2) return tf.matMul(input, kernel!).add(bias ?? tf.scalar(0));
  const c = layer.getConfig() as { strides: [number, number]; padding: 'same' | 'valid'; dilationRate?: [number, number] };
  return tf.conv2d(input as tf.Tensor4D, kernel as tf.Tensor4D, c.strides, c.padding).add(bias ?? tf.scalar(0));
}

/**
 * Rescales the kernels of a sequential model's dense and conv layers in order so
 * each layer's pre-activations on `batch` have unit variance. The model should
 * have been built with orthogonal kernels (initializer name `lsuv` does that).
 */
export async function applyLsuv(model: tf.LayersModel, batch: tf.Tensor, opts: LsuvOptions = {}): Promise<void> {
  if (!(model instanceof tf.Sequential)) {
    throw new InvalidInputError(`LSUV needs a sequential model (mlp, cnn); ${model.name} has branches`);
  }
  const tol = opts.tolerance ?? 0.01;
  const maxIter = opts.maxIterations ?? 10;
  let h = tf.keep(batch.clone());
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length > 0 && (weights[0]!.rank === 2 || weights[0]!.rank === 4)) {
      for (let it = 0; it < maxIter; it++) {
        const v = tf.tidy(() => tf.moments(preActivation(layer, h)).variance);
        const variance = (await v.data())[0]!;
        v.dispose();
        if (!(variance > 0) || Math.abs(variance - 1) < tol) break;
        const current = layer.getWeights();
        const scaled = current[0]!.div(Math.sqrt(variance));
        layer.setWeights([scaled, ...current.slice(1)]);
        scaled.dispose();
      }
    }
    const next = tf.tidy(() => layer.apply(h, { training: false }) as tf.Tensor);
    h.dispose();
    h = tf.keep(next);
  }
  h.dispose();
}
