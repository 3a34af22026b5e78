/**
 * Convolutional classifiers: a small CNN (conv-ReLU-maxpool per stage → dense) and
 * a small residual CNN (stem conv, one residual block per stage with identity skip,
 * max-pool between stages, global average pooling → dense). Every ReLU is its own
 * capturable activation; layer names are fixed so weights map across runs.
 */
import * as tf from '@tensorflow/tfjs';
import { makeInitializer, type InitializerName } from '../init/registry.js';

/** Architecture of the small CNN. */
export interface CnnSpec {
  inputShape: [number, number, number];
  /** Filters of each conv stage (3×3, same padding, then 2×2 max-pool). */
  filters: number[];
  /** Widths of the dense ReLU layers before the classifier. */
  dense: number[];
  classes: number;
  initializer: InitializerName;
  seed: number;
}

/** Architecture of the residual CNN. */
export interface ResnetSpec {
  inputShape: [number, number, number];
  /** Channels of each stage; each stage is one residual block, stages are separated by 2×2 max-pooling. */
  channels: number[];
  classes: number;
  initializer: InitializerName;
  seed: number;
}

/** Builds the small CNN as a Sequential model. */
export function buildCnn(spec: CnnSpec): tf.Sequential {
  let seed = spec.seed;
  const init = () => makeInitializer(spec.initializer, seed++) as never;
  const model = tf.sequential({ name: 'cnn' });
  spec.filters.forEach((f, s) => {
    model.add(
      tf.layers.conv2d({
        name: `conv_${s}`,
        filters: f,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init(),
        ...(s === 0 ? { inputShape: spec.inputShape } : {}),
      }),
    );
    model.add(tf.layers.maxPooling2d({ name: `pool_${s}`, poolSize: 2, strides: 2 }));
  });
  model.add(tf.layers.flatten({ name: 'flatten' }));
  spec.dense.forEach((u, d) => model.add(tf.layers.dense({ name: `dense_${d}`, units: u, activation: 'relu', kernelInitializer: init() })));
  model.add(tf.layers.dense({ name: 'logits', units: spec.classes, kernelInitializer: init() }));
  return model;
}

/** Builds the residual CNN as a functional model. */
export function buildResnet(spec: ResnetSpec): tf.LayersModel {
  let seed = spec.seed;
  const init = () => makeInitializer(spec.initializer, seed++) as never;
  const conv = (name: string, filters: number, k = 3) => tf.layers.conv2d({ name, filters, kernelSize: k, padding: 'same', kernelInitializer: init() });
  const input = tf.input({ shape: spec.inputShape, name: 'input' });
  let h = tf.layers.reLU({ name: 'stem_relu' }).apply(conv('stem', spec.channels[0]!).apply(input)) as tf.SymbolicTensor;
  spec.channels.forEach((c, s) => {
    if (s > 0) {
      h = tf.layers.maxPooling2d({ name: `pool_${s}`, poolSize: 2, strides: 2 }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.reLU({ name: `proj_${s}_relu` }).apply(conv(`proj_${s}`, c, 1).apply(h)) as tf.SymbolicTensor;
    }
    const a = tf.layers.reLU({ name: `block_${s}_relu_a` }).apply(conv(`block_${s}_conv_a`, c).apply(h)) as tf.SymbolicTensor;
    const b = conv(`block_${s}_conv_b`, c).apply(a) as tf.SymbolicTensor;
    h = tf.layers.reLU({ name: `block_${s}_relu_out` }).apply(tf.layers.add({ name: `block_${s}_add` }).apply([h, b])) as tf.SymbolicTensor;
  });
  const pooled = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(h) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ name: 'logits', units: spec.classes, kernelInitializer: init() }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'resnet' });
}
