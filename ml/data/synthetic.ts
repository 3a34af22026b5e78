/**
 * A small synthetic image data set generated in code: 10 classes of 8×8 grey
 * images, each a seeded class prototype plus noise. For tests and demos on machines
 * without Fashion-MNIST; selected with `data.source: synthetic`.
 */
import { Rng } from '../rng.js';
import type { ImageSet } from './fashion-mnist.js';

/** Train (2,000) and test (500) splits of the synthetic set, deterministic in `seed`. */
export function syntheticImages(seed = 7, trainCount = 2000, testCount = 500): { train: ImageSet; test: ImageSet } {
  const side = 8;
  const dim = side * side;
  const rng = Rng.fromSeed(seed);
  const prototypes = Array.from({ length: 10 }, () => Array.from({ length: dim }, () => rng.next()));
  const make = (count: number): ImageSet => {
    const images = new Uint8Array(count * dim);
    const labels = new Uint8Array(count);
    for (let n = 0; n < count; n++) {
      const c = rng.int(10);
      labels[n] = c;
      for (let d = 0; d < dim; d++) {
        const v = 0.65 * prototypes[c]![d]! + 0.35 * rng.next();
        images[n * dim + d] = Math.round(255 * v);
      }
    }
    return { images, labels, count, height: side, width: side };
  };
  return { train: make(trainCount), test: make(testCount) };
}
