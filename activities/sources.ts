/**
 * Data sources activities read: `fashion-mnist`, `synthetic`, a folder with the four
 * Fashion-MNIST IDX files, or an image-set bundle file (`*.lpb`, as `lightpath`
 * stores splits). A source may name a shard of its training set: `<source>#k/n` is
 * the k-th (1-based) of n disjoint, seeded, equal-sized parts, so sites or retrain
 * rounds can be simulated on one data set.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FASHION_MNIST_FILES, loadFashionMnist, findFashionMnist, type ImageSet } from '../ml/data/fashion-mnist.js';
import { syntheticImages } from '../ml/data/synthetic.js';
import { Rng } from '../ml/rng.js';
import { InvalidInputError } from '../contracts/errors.js';
import { decodeBundle, encodeBundle } from '../storage/bundle.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import { configuredDataRoots, outsideDataRoots } from '../storage/data-roots.js';
import type { Ref } from '../contracts/types.js';

/** Seed of the permutation that cuts a training set into shards (fixed, so every site agrees). */
const SHARD_SEED = 0x54a2d;

/** Rows `rows` of `set`, in that order. */
export function subset(set: ImageSet, rows: ArrayLike<number>): ImageSet {
  const dim = set.height * set.width;
  const images = new Uint8Array(rows.length * dim);
  const labels = new Uint8Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    images.set(set.images.subarray(i * dim, (i + 1) * dim), r * dim);
    labels[r] = set.labels[i]!;
  }
  return { images, labels, count: rows.length, height: set.height, width: set.width };
}

/** The samples of `sets` (all of one image size), one after the other. */
export function concatSets(sets: ImageSet[]): ImageSet {
  const count = sets.reduce((n, s) => n + s.count, 0);
  const dim = sets[0]!.height * sets[0]!.width;
  const images = new Uint8Array(count * dim);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const s of sets) {
    images.set(s.images.subarray(0, s.count * dim), at * dim);
    labels.set(s.labels.subarray(0, s.count), at);
    at += s.count;
  }
  return { images, labels, count, height: sets[0]!.height, width: sets[0]!.width };
}

/** Stores an image set as an image-set bundle. */
export function putSplit(store: ArtifactStore, set: ImageSet, split: string, source: string): Promise<Ref> {
  return store.put(
    encodeBundle({
      meta: { kind: 'image-set', split, source, count: set.count, height: set.height, width: set.width, classes: 10 },
      arrays: { images: set.images, labels: set.labels },
    }),
  );
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

/** Reads a source's train and test sets (a bundle file has no test set). */
export async function loadSource(source: string, field = 'data.source'): Promise<{ train: ImageSet; test: ImageSet | null }> {
  if (source === 'synthetic') return syntheticImages();
  const path = source === 'fashion-mnist' ? findFashionMnist() : source;
  if (path !== null && !existsSync(path)) throw new InvalidInputError(`${field}: ${path} does not exist`);
  if (path !== null && statSync(path).isFile()) return { train: await readBundleFile(path, field), test: null };
  const missing = path === null ? undefined : Object.values(FASHION_MNIST_FILES).find((f) => !existsSync(join(path, f)));
  if (missing) throw new InvalidInputError(`${field}: ${join(path!, missing)} does not exist (an IDX folder holds ${Object.values(FASHION_MNIST_FILES).join(', ')})`);
  return loadFashionMnist(path);
}

async function readBundleFile(path: string, field: string): Promise<ImageSet> {
  return imageSetOf(new Uint8Array(await readFile(path)), path, field);
}

/** Decodes an image-set bundle (`name` and `field` name it in errors). */
export function imageSetOf(bytes: Uint8Array, name: string, field: string): ImageSet {
  const b = decodeBundle(bytes, name);
  const m = b.meta as { kind?: string; count: number; height: number; width: number };
  if (m.kind !== 'image-set') throw new InvalidInputError(`${field}: ${name} is a ${m.kind ?? 'bundle without kind'}, not an image set`);
  return { images: b.arrays.images as Uint8Array, labels: b.arrays.labels as Uint8Array, count: m.count, height: m.height, width: m.width };
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

/** The training samples of `spec` (`<source>[#k/n]`). */
export async function loadShard(spec: string, field = 'data'): Promise<ImageSet> {
  const { source, shard } = parseShard(spec, field);
  const { train } = await loadSource(source, field);
  if (!shard) return train;
  const order = Rng.fromSeed(SHARD_SEED).shuffle(Int32Array.from({ length: train.count }, (_, i) => i));
  const from = Math.floor(((shard.k - 1) * train.count) / shard.n);
  const to = Math.floor((shard.k * train.count) / shard.n);
  return subset(train, order.subarray(from, to).sort());
}
