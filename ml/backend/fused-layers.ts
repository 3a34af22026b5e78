/**
 * A training forward pass's layers as lightpath's fused kernels where the
 * backend in use has them (the native provider): a Conv2D layer with bias and
 * ReLU (NHWC, dilation 1, float32) runs as `CONV_BIAS_RELU` instead of TF.js's
 * Conv2D, Add and Relu, and its backward pass as `RELU_GRAD_SUM` and the two
 * Conv2D gradients (fused-ops.ts). The output, the weights' gradients and so the
 * training have the bits of the unfused layer; there is one pass less over the
 * layer's output in each direction, and the ReLU's input is never stored.
 */
import * as tf from '@tensorflow/tfjs';
import { CONV_BIAS_RELU, hasKernel } from './fused-ops.js';
import { pair } from './wasm-kernels/common.js';

interface ConvConfig {
  activation?: string;
  useBias?: boolean;
  dataFormat?: string;
  strides?: number | number[];
  padding?: string;
  dilationRate?: number | number[];
}

const ones = (v: number | number[] | undefined) => v === undefined || (Array.isArray(v) ? v.every((d) => d === 1) : v === 1);

/** `layer` applied to `x` in training as a fused kernel, or null where the layer or the backend does not allow it (apply the layer then). */
export function fusedTrainingLayer(layer: tf.layers.Layer, x: tf.Tensor): tf.Tensor | null {
  if (layer.getClassName() !== 'Conv2D' || !hasKernel(CONV_BIAS_RELU)) return null;
  const cfg = layer.getConfig() as ConvConfig;
  const [filter, bias] = layer.weights.map((w) => w.read());
  const plain = cfg.activation === 'relu' && cfg.useBias !== false && cfg.dataFormat === 'channelsLast' && ones(cfg.dilationRate);
  if (!plain || !filter || !bias || layer.weights.length !== 2 || x.rank !== 4 || x.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  if (cfg.padding !== 'same' && cfg.padding !== 'valid') return null;
  const attrs = { strides: pair(cfg.strides), pad: cfg.padding, dataFormat: 'NHWC', dilations: [1, 1] };
  return tf.engine().runKernel<tf.Tensor>(CONV_BIAS_RELU, { x, filter, bias }, attrs as unknown as tf.NamedAttrMap);
}
