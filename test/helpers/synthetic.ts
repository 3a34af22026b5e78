/** Small synthetic classification data generated in code (seeded Gaussian clusters). */
import { Rng } from '../../ml/rng.js';
import type { LabelledData } from '../../ml/train/data.js';

/** `count` samples of dimension `dim` around `classes` seeded centres. */
export function clusters(count: number, dim: number, classes: number, seed: number): LabelledData {
  const rng = Rng.fromSeed(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, () => gauss() * 1.5));
  const x = new Float32Array(count * dim);
  const y = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const c = n % classes;
    y[n] = c;
    for (let d = 0; d < dim; d++) x[n * dim + d] = centres[c]![d]! + gauss();
  }
  return { x, y, count, dim, classes };
}

/** Rows [from, to) of `d` as their own data set. */
export function rows(d: LabelledData, from: number, to: number): LabelledData {
  return { ...d, x: d.x.slice(from * d.dim, to * d.dim), y: d.y.slice(from, to), count: to - from };
}
