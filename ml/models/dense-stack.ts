/**
 * Recognizes a model that is a plain stack of dense layers: one input of rank 2,
 * Dense layers each fed by the one before, ReLU on all but the last, the last
 * linear (logits), every layer with a bias and every weight trainable and
 * float32. mlp.ts builds such models; ml/train/step.ts trains them with one
 * fused kernel per step where the backend has it.
 */
import type * as tf from '@tensorflow/tfjs';

/** One dense layer's variables. */
export interface DenseLayerVars {
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable;
}

interface DenseConfig {
  activation?: string;
  useBias?: boolean;
}

/** The layers of `model` in order when it is a plain dense stack (see the top of this file), else null. */
export function denseStack(model: tf.LayersModel): DenseLayerVars[] | null {
  if (model.inputs.length !== 1 || model.outputs.length !== 1 || model.inputs[0]!.shape.length !== 2) return null;
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  if (layers.length === 0) return null;
  let previous = model.inputs[0]!;
  const stack: DenseLayerVars[] = [];
  for (const [i, layer] of layers.entries()) {
    const cfg = layer.getConfig() as DenseConfig;
    const wanted = i === layers.length - 1 ? 'linear' : 'relu';
    if (layer.getClassName() !== 'Dense' || cfg.activation !== wanted || cfg.useBias === false || layer.inboundNodes.length !== 1) return null;
    const node = layer.inboundNodes[0]!;
    if (node.inputTensors.length !== 1 || node.inputTensors[0]!.id !== previous.id) return null;
    const [kernel, bias] = layer.weights;
    if (layer.weights.length !== 2 || !kernel || !bias || kernel.shape.length !== 2) return null;
    stack.push({ kernel, bias });
    previous = node.outputTensors[0]!;
  }
  if (previous.id !== model.outputs[0]!.id) return null;
  const trainable = model.trainableWeights;
  const ordered = stack.flatMap(({ kernel, bias }) => [kernel, bias]);
  const same = trainable.length === ordered.length && trainable.every((w, k) => w === ordered[k] && w.dtype === 'float32');
  return same ? stack : null;
}
