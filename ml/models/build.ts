/** Building any of lightpath's classifiers from one spec. */
import type * as tf from '@tensorflow/tfjs';
import { buildMlp } from './mlp.js';
import { buildCnn, buildResnet } from './cnn.js';
import type { InitializerName } from '../init/registry.js';

/** Which model and its widths; the input is an image of `imageShape` ([h, w, c]). */
export interface ModelSpec {
  kind: 'mlp' | 'cnn' | 'resnet';
  /** MLP hidden widths. */
  hidden: number[];
  /** CNN conv-stage filters. */
  filters: number[];
  /** CNN dense widths before the classifier. */
  dense: number[];
  /** Residual CNN stage channels. */
  channels: number[];
  initializer: InitializerName;
}

/** Builds the model `spec` describes for images of `imageShape` and `classes` classes. */
export function buildModel(spec: ModelSpec, imageShape: [number, number, number], classes: number, seed: number): tf.LayersModel {
  const { initializer } = spec;
  switch (spec.kind) {
    case 'mlp':
      return buildMlp({ inputDim: imageShape[0] * imageShape[1] * imageShape[2], hidden: spec.hidden, classes, initializer, seed });
    case 'cnn':
      return buildCnn({ inputShape: imageShape, filters: spec.filters, dense: spec.dense, classes, initializer, seed });
    case 'resnet':
      return buildResnet({ inputShape: imageShape, channels: spec.channels, classes, initializer, seed });
  }
}
