/**
 * Forward pass of a layers model (sequential or functional) that also returns
 * every activation layer's output, so OUI and GLAI read the masks of the pass that
 * training already runs. Layers run in the model's topological order with the
 * `training` flag passed through; in training, a layer the backend has a fused
 * kernel for runs as that kernel (ml/backend/fused-layers.ts: the same bits).
 */
import * as tf from '@tensorflow/tfjs';
import { fusedTrainingLayer } from '../backend/fused-layers.js';

const CAPTURED = new Set(['relu', 'relu6', 'elu', 'selu', 'swish', 'gelu', 'gelu_new']);

/** Whether a layer's output is an activation that OUI/GLAI capture (classifier logits are not). */
export function isActivationLayer(layer: tf.layers.Layer): boolean {
  const cls = layer.getClassName();
  if (cls === 'ReLU') return true;
  const cfg = layer.getConfig() as { activation?: string };
  return cfg.activation !== undefined && CAPTURED.has(cfg.activation);
}

/** Runs `model` on `x`; returns the output and the captured activations, in layer order. */
export function forwardCapture(model: tf.LayersModel, x: tf.Tensor, training: boolean): { output: tf.Tensor; activations: tf.Tensor[] } {
  const values = new Map<number, tf.Tensor>([[model.inputs[0]!.id, x]]);
  const activations: tf.Tensor[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    if (layer.inboundNodes.length !== 1) throw new Error(`layer ${layer.name} is used ${layer.inboundNodes.length} times; shared layers are not supported`);
    const node = layer.inboundNodes[0]!;
    const inputs = node.inputTensors.map((s) => {
      const v = values.get(s.id);
      if (!v) throw new Error(`layer ${layer.name}: input ${s.name} has not been computed`);
      return v;
    });
    const fused = training && inputs.length === 1 ? fusedTrainingLayer(layer, inputs[0]!) : null;
    const out = fused ?? (layer.apply(inputs.length === 1 ? inputs[0]! : inputs, { training }) as tf.Tensor);
    values.set(node.outputTensors[0]!.id, out);
    if (isActivationLayer(layer)) activations.push(out);
  }
  const output = values.get(model.outputs[0]!.id);
  if (!output) throw new Error(`model ${model.name}: output was not computed`);
  return { output, activations };
}
