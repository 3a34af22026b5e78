/**
 * Data sources activities read: `fashion-mnist`, `synthetic`, a folder with the four
 * Fashion-MNIST IDX files, an image-set bundle file (`*.lpb`, as `lightpath` stores
 * splits), and — local or `s3://` — every format of ml/data/read-source.ts: class
 * folders of images, CSV/Parquet tables, NumPy `.npy`/`.npz`, CIFAR-10/100 batches.
 * A source may name a shard of its training set: `<source>#k/n` is the k-th (1-based)
 * of n disjoint, seeded, equal-sized parts, so sites or retrain rounds can be
 * simulated on one data set.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FASHION_MNIST_FILES, loadFashionMnist, findFashionMnist, type ImageSet } from '../ml/data/fashion-mnist.js';
import { syntheticImages } from '../ml/data/synthetic.js';
import { detectFormat, imageFolderPlan, readDataSource, tableStream, type ReadOptions } from '../ml/data/read-source.js';
import type { StreamedTable } from '../ml/data/table-stream.js';
import type { ImageFolderPlan } from '../ml/data/image-folder.js';
import type { DataFiles } from '../ml/data/files.js';
import { checkSameSchema, isImages, relabel, sampleSize, subsetOf, type Dataset, type Preprocessing, type SourceData } from '../ml/data/dataset.js';
import { Rng } from '../ml/rng.js';
import { InvalidInputError } from '../contracts/errors.js';
import { decodeBundle, encodeBundle } from '../storage/bundle.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import { configuredDataRoots, outsideDataRoots } from '../storage/data-roots.js';
import { openDataFiles, type LocationFile } from '../storage/data-files.js';
import type { Ref } from '../contracts/types.js';
import { cifarNamesLike } from '../ml/data/cifar.js';

/** Seed of the permutation that cuts a training set into shards (fixed, so every site agrees). */
const SHARD_SEED = 0x54a2d;

const DIGITS = Array.from({ length: 10 }, (_, i) => String(i));

/** A legacy grey image set (IDX, synthetic, version-1 bundles) as a Dataset. */
export function datasetOfImageSet(set: ImageSet, classNames = DIGITS): Dataset {
  return {
    shape: [set.height, set.width, 1],
    count: set.count,
    x: set.images,
    labels: Int32Array.from(set.labels),
    classNames,
    preprocessing: { kind: 'images', size: [set.height, set.width], color: 'grayscale', scale: 1 / 255, resized: 0, skipped: 0 },
  };
}

/** Stores a data set as a split bundle (`kind: image-set` for uint8 images, `dataset` otherwise; labels uint8 up to 256 classes). */
export function putSplit(store: ArtifactStore, d: Dataset, split: string, source: string): Promise<Ref> {
  const images = d.x instanceof Uint8Array && isImages(d);
  const [height, width, channels] = images ? d.shape : [1, 1, 1];
  const labels = d.classNames.length <= 256 ? Uint8Array.from(d.labels) : d.labels;
  return store.put(
    encodeBundle({
      meta: {
        kind: images ? 'image-set' : 'dataset',
        split,
        source,
        count: d.count,
        shape: d.shape,
        height,
        width,
        channels,
        classes: d.classNames.length,
        classNames: d.classNames,
        preprocessing: d.preprocessing,
      },
      arrays: images ? { images: d.x as Uint8Array, labels } : { x: d.x instanceof Float32Array ? d.x : Float32Array.from(d.x), labels },
    }),
  );
}

/** Decodes a split bundle or an image-set bundle of any version (`name` and `field` name it in errors). */
export function datasetOf(bytes: Uint8Array, name: string, field: string): Dataset {
  const b = decodeBundle(bytes, name);
  const m = b.meta as { kind?: string; count: number; height: number; width: number; channels?: number; shape?: number[]; classes?: number; classNames?: string[]; preprocessing?: Preprocessing };
  if (m.kind !== 'image-set' && m.kind !== 'dataset') throw new InvalidInputError(`${field}: ${name} is a ${m.kind ?? 'bundle without kind'}, not an image set or data set`);
  const shape = m.shape ?? [m.height, m.width, m.channels ?? 1];
  const x = (m.kind === 'image-set' ? b.arrays.images : b.arrays.x) as Uint8Array | Float32Array | undefined;
  const labels = b.arrays.labels;
  if (!x || !labels || x.length !== m.count * sampleSize(shape) || labels.length !== m.count) {
    throw new InvalidInputError(`${field}: ${name} holds fewer samples or labels than its count ${m.count}`);
  }
  const classNames = m.classNames ?? (m.classes && m.classes > 10 ? Array.from({ length: m.classes }, (_, i) => String(i)) : DIGITS);
  const lab = Int32Array.from(labels as ArrayLike<number>);
  const bad = lab.findIndex((l) => l < 0 || l >= classNames.length);
  if (bad >= 0) throw new InvalidInputError(`${field}: ${name} has label ${lab[bad]} at sample ${bad}, outside 0…${classNames.length - 1}`);
  const preprocessing = m.preprocessing ?? { kind: 'images', size: [shape[0]!, shape[1]!], color: 'grayscale', scale: 1 / 255, resized: 0, skipped: 0 };
  return { shape, count: m.count, x, labels: lab, classNames, preprocessing };
}

/**
 * Refuses (InvalidInputError naming `field`) a source or watch location outside the
 * data roots when this worker is confined: `LIGHTPATH_DATA_ROOTS` set on it (the
 * built-in data sets and the run's `store` are always allowed). Unset, a worker reads
 * what its Temporal clients name (storage/data-roots.ts explains the decision).
 */
export async function confineSource(source: string, store: string, field: string): Promise<void> {
  const roots = configuredDataRoots(store);
  const why = roots && (await outsideDataRoots(source, roots));
  if (why) throw new InvalidInputError(`${field}: ${why}`);
}

const isIdxFolder = (path: string) => Object.values(FASHION_MNIST_FILES).some((f) => existsSync(join(path, f)));

/** Reads a source's train set and, when it has one, its test set (a bundle file has none). */
export async function loadSource(source: string, field = 'data.source', opts: ReadOptions = {}): Promise<SourceData> {
  if (source === 'synthetic') {
    const s = syntheticImages();
    return { train: datasetOfImageSet(s.train), test: datasetOfImageSet(s.test), format: 'synthetic' };
  }
  const local = !source.startsWith('s3://') && !source.startsWith('file://');
  const path = source === 'fashion-mnist' ? findFashionMnist() : source;
  if (source === 'fashion-mnist' || (local && path !== null && existsSync(path) && statSync(path).isDirectory() && isIdxFolder(path))) {
    const missing = path === null ? undefined : Object.values(FASHION_MNIST_FILES).find((f) => !existsSync(join(path, f)));
    if (missing) throw new InvalidInputError(`${field}: ${join(path!, missing)} does not exist (an IDX folder holds ${Object.values(FASHION_MNIST_FILES).join(', ')})`);
    const s = await loadFashionMnist(path);
    return { train: datasetOfImageSet(s.train), test: datasetOfImageSet(s.test), format: 'idx' };
  }
  const files = await openDataFiles(source, field);
  // A single file no reader claims is taken for a bundle (its decoder names what is wrong with it).
  if (files.single && !detectFormat((await files.list()).files, true)) return { train: datasetOf(await files.read(''), files.describe(''), field), test: null, format: 'bundle' };
  return readDataSource(files, opts);
}

/** The files of a source read by ml/data/read-source.ts (not a built-in set nor an IDX folder), else null. */
async function readerFiles(source: string, field: string): Promise<DataFiles | null> {
  if (source === 'synthetic' || source === 'fashion-mnist') return null;
  const local = !source.startsWith('s3://') && !source.startsWith('file://');
  if (local && existsSync(source) && statSync(source).isDirectory() && isIdxFolder(source)) return null;
  return openDataFiles(source, field);
}

/** A source that is an image folder (local or `s3://`), with its reading plan; null for every other kind of source. */
export async function imageFolderSource(source: string, field: string, opts: ReadOptions = {}): Promise<{ files: DataFiles; plan: ImageFolderPlan } | null> {
  const files = await readerFiles(source, field);
  if (!files || files.single) return null;
  const plan = await imageFolderPlan(files, opts);
  return plan && { files, plan };
}

/** A source that is a CSV or Parquet table (local or `s3://`), as a table to stream; null for every other kind of source. */
export async function tableSource(source: string, field: string, opts: ReadOptions = {}): Promise<StreamedTable | null> {
  const files = await readerFiles(source, field);
  return files && tableStream(files, opts);
}

/**
 * New data `d` (read with `like`'s preprocessing) made like `like`, a split of the run it
 * is for: refused (InvalidInputError naming `what` and the first difference) unless it has
 * that split's schema; labels renumbered to its classes; table and array features
 * standardised in place with its statistics.
 */
export function conformTo(d: Dataset, like: Dataset, what: string): Dataset {
  checkSameSchema(d, like, what);
  let out = relabel(d, like.classNames);
  const p = like.preprocessing;
  if ((p.kind === 'table' || p.kind === 'array') && p.mean.length && out.x instanceof Float32Array) {
    const dim = sampleSize(out.shape);
    for (let i = 0; i < out.x.length; i++) out.x[i] = (out.x[i]! - p.mean[i % dim]!) / p.std[i % dim]!;
    out = { ...out, preprocessing: p };
  }
  return out;
}

/**
 * The files a source is read from, with sizes and versions (mtime, ETag), by name; null for
 * the generated `synthetic` set and a Fashion-MNIST to download. Lists only: cheap on any size of data.
 */
export async function sourceListing(source: string, field: string): Promise<LocationFile[] | null> {
  const path = source === 'fashion-mnist' ? findFashionMnist() : source;
  // Generated, or downloaded and checksummed (Fashion-MNIST not on this worker): the name is the content.
  if (source === 'synthetic' || path === null) return null;
  if (path !== null && !source.startsWith('s3://') && !source.startsWith('file://') && existsSync(path) && statSync(path).isDirectory() && isIdxFolder(path)) {
    return Object.values(FASHION_MNIST_FILES).flatMap((f) => {
      const p = join(path, f);
      const s = existsSync(p) ? statSync(p) : null;
      return s ? [{ name: f, bytes: s.size, version: s.mtime.toISOString() }] : [];
    });
  }
  return (await (await openDataFiles(source, field)).list()).files;
}

/** Parses `<source>[#k/n]`. */
export function parseShard(spec: string, field: string): { source: string; shard: { k: number; n: number } | null } {
  const m = /^(.*)#(\d+)\/(\d+)$/.exec(spec);
  if (!m) return { source: spec, shard: null };
  const k = Number(m[2]);
  const n = Number(m[3]);
  if (n < 1 || k < 1 || k > n) throw new InvalidInputError(`${field}: shard ${k}/${n} must satisfy 1 ≤ k ≤ n`);
  return { source: m[1]!, shard: { k, n } };
}

/**
 * The training samples of `spec` (`<source>[#k/n]`). With `like` (a split of the run the
 * data is for), the source is read with that split's preprocessing and must have its
 * schema (shape, columns, classes; refused naming the difference); labels are renumbered
 * to its classes and table features standardised with its statistics.
 */
export async function loadShard(spec: string, field = 'data', like?: Dataset): Promise<Dataset> {
  const { source, shard } = parseShard(spec, field);
  const loaded = await loadSource(source, field, like ? { reference: like.preprocessing } : {});
  const { train: read } = like ? cifarNamesLike(loaded, like) : loaded;
  const train = like ? conformTo(read, like, `${field} ${source}`) : read;
  if (!shard) return train;
  const order = Rng.fromSeed(SHARD_SEED).shuffle(Int32Array.from({ length: train.count }, (_, i) => i));
  const from = Math.floor(((shard.k - 1) * train.count) / shard.n);
  const to = Math.floor((shard.k * train.count) / shard.n);
  return subsetOf(train, order.subarray(from, to).sort());
}
