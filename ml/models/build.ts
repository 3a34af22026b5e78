/** Building any of lightpath's classifiers from one spec. */
import type * as tf from '@tensorflow/tfjs';
import { buildMlp } from './mlp.js';
import { buildCnn, buildResnet } from './cnn.js';
import type { InitializerName } from '../init/registry.js';
import { InvalidInputError } from '../../contracts/errors.js';

/** Which model and its widths; the input is a sample of `inputShape` ([h, w, c] images, [features] vectors). */
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

/**
 * Builds the model `spec` describes for samples of `inputShape` and `classes` classes.
 * An MLP takes any shape (flattened); the convolutional models need images [h, w, c].
 */
export function buildModel(spec: ModelSpec, inputShape: readonly number[], classes: number, seed: number): tf.LayersModel {
  const { initializer } = spec;
  if (spec.kind !== 'mlp' && inputShape.length !== 3) {
    throw new InvalidInputError(
      `model.kind ${spec.kind} needs images; the data has ${inputShape.length === 1 ? `${inputShape[0]} features per sample (a table)` : `samples of shape ${inputShape.join('×')}`}: use model.kind mlp`,
    );
  }
  const imageShape = inputShape as [number, number, number];
  switch (spec.kind) {
    case 'mlp':
      return buildMlp({ inputDim: inputShape.reduce((a, b) => a * b, 1), hidden: spec.hidden, classes, initializer, seed });
    case 'cnn':
      return buildCnn({ inputShape: imageShape, filters: spec.filters, dense: spec.dense, classes, initializer, seed });
    case 'resnet':
      return buildResnet({ inputShape: imageShape, channels: spec.channels, classes, initializer, seed });
  }
}
