/**
 * Forward pass of a sequential model that also returns every activation layer's
 * output, so OUI and GLAI read the masks of the pass that training already runs.
 */
import * as tf from '@tensorflow/tfjs';

const CAPTURED = new Set(['relu', 'relu6', 'elu', 'selu', 'swish', 'gelu', 'gelu_new']);

/** Whether a layer's output is an activation that OUI/GLAI capture (classifier logits are not). */
export function isActivationLayer(layer: tf.layers.Layer): boolean {
  const cfg = layer.getConfig() as { activation?: string };
  const cls = layer.getClassName();
  return (cfg.activation !== undefined && CAPTURED.has(cfg.activation)) || cls === 'ReLU';
}

/** Runs `model` layer by layer on `x`; returns the output and the captured activations. */
export function forwardCapture(
  model: tf.Sequential,
  x: tf.Tensor,
  training: boolean,
): { output: tf.Tensor; activations: tf.Tensor[] } {
  const activations: tf.Tensor[] = [];
  let h = x;
  for (const layer of model.layers) {
    h = layer.apply(h, { training }) as tf.Tensor;
    if (isActivationLayer(layer)) activations.push(h);
  }
  return { output: h, activations };
}
