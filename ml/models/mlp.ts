/**
 * Multilayer perceptron: dense ReLU layers of the given widths, then a linear
 * classifier producing logits. Layer names are fixed (`hidden_0`, …, `logits`) so
 * weights map one-to-one between checkpoints, saved models and runs.
 */
import * as tf from '@tensorflow/tfjs';
import { makeInitializer, type InitializerName } from '../init/registry.js';

/** MLP architecture. */
export interface MlpSpec {
  inputDim: number;
  hidden: number[];
  classes: number;
  initializer: InitializerName;
  seed: number;
}

/** Builds the MLP as a tf.layers Sequential model (serializable with model.save). */
export function buildMlp(spec: MlpSpec): tf.Sequential {
  const model = tf.sequential({ name: 'mlp' });
  const widths = [...spec.hidden, spec.classes];
  widths.forEach((units, l) => {
    const last = l === widths.length - 1;
    model.add(
      tf.layers.dense({
        name: last ? 'logits' : `hidden_${l}`,
        units,
        activation: last ? 'linear' : 'relu',
        kernelInitializer: makeInitializer(spec.initializer, spec.seed + l) as never,
        biasInitializer: 'zeros',
        ...(l === 0 ? { inputShape: [spec.inputDim] } : {}),
      }),
    );
  });
  return model;
}
