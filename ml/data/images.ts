/** Turning uint8 image sets into normalized training data, and seeded splits. */
import type { ImageSet } from './fashion-mnist.js';
import type { LabelledData } from '../train/data.js';
import { Rng } from '../rng.js';

/** Pixels scaled to [0, 1], flattened to rows of h·w; `indices` selects rows (default all). */
export function imagesToData(set: ImageSet, classes = 10, indices?: ArrayLike<number>): LabelledData {
  const dim = set.height * set.width;
  const rows = indices ?? Array.from({ length: set.count }, (_, i) => i);
  const x = new Float32Array(rows.length * dim);
  const y = new Int32Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    const src = set.images.subarray(i * dim, (i + 1) * dim);
    for (let k = 0; k < dim; k++) x[r * dim + k] = src[k]! / 255;
    y[r] = set.labels[i]!;
  }
  return { x, y, count: rows.length, dim, classes };
}

/** A seeded split of `count` rows into `count − holdout` training and `holdout` validation indices. */
export function seededSplit(count: number, holdout: number, seed: number): { train: Int32Array; val: Int32Array } {
  const order = Int32Array.from({ length: count }, (_, i) => i);
  Rng.fromSeed(seed).shuffle(order);
  return { train: order.slice(0, count - holdout).sort(), val: order.slice(count - holdout).sort() };
}
