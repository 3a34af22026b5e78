/**
 * The one in-memory shape every data reader produces (image folders, tables, NumPy,
 * CIFAR, IDX, bundles): `count` samples of `shape` — [h, w, c] for images, [features]
 * for tables — row-major in `x`, integer labels in [0, classNames.length), and the
 * preprocessing that turned the files into these numbers, recorded so later data
 * (a retrain, a schedule arrival, a federated site) is read the same way.
 *
 * Pixels stay uint8 (scaled by `preprocessing.scale` = 1/255 when training: 4× less
 * memory and bundle size than float32); table features and float NumPy arrays are
 * float32 with scale 1.
 */
import { InvalidInputError } from '../../contracts/errors.js';
import type { LabelledData } from '../train/data.js';

/** One table column as the source holds it: numeric, or categorical with its one-hot vocabulary. */
export type ColumnSpec = { name: string; kind: 'numeric' } | { name: string; kind: 'categorical'; categories: string[] };

/** How the source's files became the numbers in `x` (stored with every split and the model's data). */
export type Preprocessing =
  | {
      kind: 'images';
      /** [height, width] every image was resized to (`fill`: stretched, bilinear), or the size the source already has. */
      size: [number, number];
      color: 'grayscale' | 'rgb';
      /** Factor from stored values to model inputs (1/255 for uint8 pixels, 1 for float arrays). */
      scale: number;
      /** Images that had another size and were resized. */
      resized: number;
      /** Unreadable images skipped (`data.skipUnreadable`). */
      skipped: number;
    }
  | {
      kind: 'table';
      labelColumn: string;
      /** Feature columns in order; a categorical one expands to one input per category. */
      columns: ColumnSpec[];
      /** Per model input: (value − mean) / std, from the training split (see `standardize`). */
      mean: number[];
      std: number[];
    }
  | {
      kind: 'array';
      /** Per model input standardisation, from the training split (NumPy 2-D feature arrays). */
      mean: number[];
      std: number[];
      scale: number;
    };

/** A labelled data set in memory. */
export interface Dataset {
  /** Per-sample shape: [h, w, c] (images) or [features]. */
  shape: number[];
  count: number;
  /** Row-major samples: uint8 pixels, or float32 values. */
  x: Uint8Array | Float32Array;
  /** Class indices into `classNames`. */
  labels: Int32Array;
  classNames: string[];
  preprocessing: Preprocessing;
}

/** What a reader returns: the training samples and, when the source has one, its own test split. */
export interface SourceData {
  train: Dataset;
  test: Dataset | null;
  /** The reader that read it (`images`, `csv`, `parquet`, `numpy`, `cifar`, `idx`, `bundle`, `synthetic`). */
  format: string;
}

/** Values per sample. */
export const sampleSize = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Whether `d` holds images ([h, w, c]). */
export const isImages = (d: { shape: readonly number[] }): boolean => d.shape.length === 3;

/** Rows `rows` of `d`, in that order. */
export function subsetOf(d: Dataset, rows: ArrayLike<number>): Dataset {
  const dim = sampleSize(d.shape);
  const x = d.x instanceof Uint8Array ? new Uint8Array(rows.length * dim) : new Float32Array(rows.length * dim);
  const labels = new Int32Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    x.set(d.x.subarray(i * dim, (i + 1) * dim), r * dim);
    labels[r] = d.labels[i]!;
  }
  return { ...d, x, labels, count: rows.length };
}

/** The samples of `sets` one after the other (same shape and value type; the first one's classes and preprocessing). */
export function concatDatasets(sets: Dataset[]): Dataset {
  const first = sets[0]!;
  const dim = sampleSize(first.shape);
  const count = sets.reduce((n, s) => n + s.count, 0);
  const x = first.x instanceof Uint8Array ? new Uint8Array(count * dim) : new Float32Array(count * dim);
  const labels = new Int32Array(count);
  let at = 0;
  for (const s of sets) {
    x.set(s.x.subarray(0, s.count * dim), at * dim);
    labels.set(s.labels.subarray(0, s.count), at);
    at += s.count;
  }
  return { ...first, x, labels, count };
}

/**
 * Per-input mean and standard deviation (population, float64) over `train`; a
 * constant input gets std 1 so it maps to 0 instead of dividing by zero. One-hot
 * inputs of categorical columns (`keep[i]` true) keep mean 0, std 1 (left as 0/1).
 */
export function standardization(train: Dataset, keep?: boolean[]): { mean: number[]; std: number[] } {
  const dim = sampleSize(train.shape);
  const sums = new StandardizationSums(dim);
  for (let n = 0; n < train.count; n++) sums.add(train.x, n * dim);
  return sums.result(keep);
}

/** The float64 sums `standardization` takes, added a sample at a time (a table streamed row by row adds its training rows here, in the same order: the same statistics). */
export class StandardizationSums {
  private readonly sum: Float64Array;
  private readonly sq: Float64Array;
  private count = 0;

  constructor(private readonly dim: number) {
    this.sum = new Float64Array(dim);
    this.sq = new Float64Array(dim);
  }

  /** Adds the sample at `x[offset…offset + dim)`. */
  add(x: ArrayLike<number>, offset = 0): void {
    for (let k = 0; k < this.dim; k++) {
      const v = x[offset + k]!;
      this.sum[k]! += v;
      this.sq[k]! += v * v;
    }
    this.count++;
  }

  /** Mean and std per input (see `standardization`). */
  result(keep?: boolean[]): { mean: number[]; std: number[] } {
    const mean: number[] = [];
    const std: number[] = [];
    for (let k = 0; k < this.dim; k++) {
      if (keep?.[k] || this.count === 0) {
        mean.push(0);
        std.push(1);
        continue;
      }
      const m = this.sum[k]! / this.count;
      const v = Math.max(0, this.sq[k]! / this.count - m * m);
      mean.push(m);
      std.push(v > 1e-12 ? Math.sqrt(v) : 1);
    }
    return { mean, std };
  }
}

/** `d` with every input standardised in place: (x − mean) / std (float32 data only). */
export function applyStandardization(d: Dataset, mean: number[], std: number[]): Dataset {
  if (!(d.x instanceof Float32Array)) throw new Error('standardisation applies to float features only');
  const dim = sampleSize(d.shape);
  for (let n = 0; n < d.count; n++) for (let k = 0; k < dim; k++) d.x[n * dim + k] = (d.x[n * dim + k]! - mean[k]!) / std[k]!;
  return d;
}

/**
 * Checks that `d` (new data: a retrain, an arrival, a site) has the schema of `reference`
 * (the run's): same per-sample shape, same preprocessing kind, same classes (new data may
 * hold a subset of them, in the run's order). Throws InvalidInputError naming `what` and
 * the first difference.
 */
export function checkSameSchema(d: Pick<Dataset, 'shape' | 'classNames' | 'preprocessing'>, reference: Pick<Dataset, 'shape' | 'classNames' | 'preprocessing'>, what: string): void {
  const bad = (why: string) => new InvalidInputError(`${what}: ${why}`);
  if (d.preprocessing.kind !== reference.preprocessing.kind) throw bad(`is ${d.preprocessing.kind} data; the run was trained on ${reference.preprocessing.kind} data`);
  if (d.preprocessing.kind === 'table' && reference.preprocessing.kind === 'table') {
    const have = d.preprocessing.columns.map((c) => c.name);
    const want = reference.preprocessing.columns.map((c) => c.name);
    const missing = want.filter((c) => !have.includes(c));
    const extra = have.filter((c) => !want.includes(c));
    if (missing.length || extra.length) {
      throw bad(`columns differ from the run's: ${[missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `extra ${extra.join(', ')}` : ''].filter(Boolean).join('; ')}`);
    }
  }
  if (d.shape.join('×') !== reference.shape.join('×')) {
    const what = isImages(reference) ? 'images' : 'features';
    throw bad(`${what} of shape ${d.shape.join('×')}; the run's are ${reference.shape.join('×')}`);
  }
  const unknown = d.classNames.filter((c) => !reference.classNames.includes(c));
  if (unknown.length)
    throw bad(
      `classes ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''} are not among the run's ${reference.classNames.length} classes (${reference.classNames.slice(0, 10).join(', ')}${reference.classNames.length > 10 ? ', …' : ''})`,
    );
}

/** `d` with its labels renumbered to `classNames` (a superset of its own class names, see checkSameSchema). */
export function relabel(d: Dataset, classNames: string[]): Dataset {
  const map = d.classNames.map((c) => classNames.indexOf(c));
  return { ...d, labels: d.labels.map((l) => map[l]!), classNames };
}

/** `d` as training data: float32 inputs (× `preprocessing`'s scale for pixels) and int32 labels. */
export function toLabelled(d: Dataset): LabelledData {
  const dim = sampleSize(d.shape);
  const x = d.x instanceof Float32Array ? d.x : Float32Array.from(d.x, (v) => v / 255);
  return { x, y: d.labels, count: d.count, dim, classes: d.classNames.length };
}
