/**
 * Prepared splits as stored: one bundle (a split that fits the worker's memory budget,
 * see data-budget.ts), or a sharded split — an index bundle (`kind: sharded-split`,
 * no arrays) listing shard bundles of bounded size, each an ordinary split bundle. A
 * split's `Ref` names either, so the prepared data's contract, stage keys and every
 * stage that passes splits along are the same for both; what reads a split asks here
 * whether to read it whole or shard by shard.
 */
import { InvalidInputError } from '../contracts/errors.js';
import { concatDatasets, sampleSize, type Dataset, type Preprocessing } from '../ml/data/dataset.js';
import { bundleMeta, encodeBundle } from '../storage/bundle.js';
import { storeForUri } from '../storage/open.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import type { Ref } from '../contracts/types.js';
import type { DataPart, SplitData } from '../ml/train/data.js';
import type { HostSplit, RawSplit } from '../ml/train/thread-protocol.js';
import { datasetOf, putSplit } from './sources.js';

export const SHARDED_SPLIT = 'sharded-split';

/** One shard of a sharded split. */
export interface ShardRef extends Ref {
  count: number;
}

/** What a sharded split's index holds. */
export interface ShardedIndex {
  kind: typeof SHARDED_SPLIT;
  split: string;
  source: string;
  count: number;
  shape: number[];
  classNames: string[];
  preprocessing: Preprocessing;
  shards: ShardRef[];
}

/** A split as stored: whole (decoded), or the index of its shards. */
export type StoredSplit = { whole: Dataset; index: null } | { whole: null; index: ShardedIndex };

/** Writes the shards of one split as they are cut, then their index. */
export class ShardedSplitWriter {
  /** The shards stored so far. */
  readonly shards: ShardRef[] = [];
  private first: Dataset | null = null;

  constructor(
    private readonly store: ArtifactStore,
    private readonly split: string,
    private readonly source: string,
  ) {}

  /** Stores `d` as the next shard. */
  async add(d: Dataset): Promise<void> {
    if (d.count === 0) return;
    this.first ??= { ...d, x: d.x.subarray(0, 0), labels: d.labels.subarray(0, 0), count: 0 };
    this.shards.push({ ...(await putSplit(this.store, d, `${this.split}-shard`, this.source)), count: d.count });
  }

  /** Rows written so far. */
  get count(): number {
    return this.shards.reduce((n, s) => n + s.count, 0);
  }

  /** Stores the index (`preprocessing` as finally known, e.g. with the standardisation statistics) and returns its reference. */
  async finish(preprocessing?: Preprocessing): Promise<Ref> {
    const d = this.first;
    if (!d) throw new InvalidInputError(`${this.source}: the ${this.split} split has no samples`);
    const index: ShardedIndex = {
      kind: SHARDED_SPLIT,
      split: this.split,
      source: this.source,
      count: this.count,
      shape: d.shape,
      classNames: d.classNames,
      preprocessing: preprocessing ?? d.preprocessing,
      shards: this.shards,
    };
    return this.store.put(encodeBundle({ meta: index, arrays: {} }));
  }
}

/** Reads a split's bundle: the data set, or a sharded split's index. */
export async function readStoredSplit(ref: Ref): Promise<StoredSplit> {
  const bytes = await storeForUri(ref.uri).get(ref);
  const meta = bundleMeta(bytes, ref.uri) as { kind?: string } | null;
  if (meta?.kind !== SHARDED_SPLIT) return { whole: datasetOf(bytes, ref.uri, 'split'), index: null };
  const index = meta as ShardedIndex;
  if (!Array.isArray(index.shards) || index.shards.reduce((n, s) => n + s.count, 0) !== index.count) {
    throw new InvalidInputError(`split: ${ref.uri} is a sharded split whose shards do not add up to its count ${index.count}`);
  }
  return { whole: null, index };
}

/** The refs a split consists of: its bundle, and a sharded split's shards (what must exist to reuse it). */
export async function splitObjects(ref: Ref): Promise<Ref[]> {
  const s = await readStoredSplit(ref);
  return s.index ? [ref, ...s.index.shards] : [ref];
}

/** Shard `i` of a sharded split, decoded. */
export async function readShard(index: ShardedIndex, i: number): Promise<Dataset> {
  const s = index.shards[i];
  if (!s) throw new InvalidInputError(`split: shard ${i} of a split with ${index.shards.length} shards`);
  const d = datasetOf(await storeForUri(s.uri).get(s), s.uri, 'split shard');
  return { ...d, preprocessing: index.preprocessing };
}

/** A split's schema (shape, classes, preprocessing) with its samples when it is one bundle, none when sharded: what new data is checked against. */
export async function splitSchema(ref: Ref): Promise<Dataset> {
  const s = await readStoredSplit(ref);
  if (s.whole) return s.whole;
  const { shape, classNames, preprocessing } = s.index;
  return { shape, classNames, preprocessing, count: 0, x: new Uint8Array(0), labels: new Int32Array(0) };
}

/** A split whole in memory (a sharded split's shards concatenated): for what needs all of it at once. */
export async function readSplitDataset(ref: Ref): Promise<Dataset> {
  const s = await readStoredSplit(ref);
  if (s.whole) return s.whole;
  const shards: Dataset[] = [];
  for (let i = 0; i < s.index.shards.length; i++) shards.push(await readShard(s.index, i));
  return concatDatasets(shards);
}

/** A data set as the training thread takes it: uint8 pixels (`images`) or float samples (`values`), labels. */
export function rawSplitOf(d: Dataset): RawSplit {
  const dim = sampleSize(d.shape);
  return d.x instanceof Uint8Array
    ? { images: d.x, labels: d.labels, count: d.count, dim, classes: d.classNames.length }
    : { images: new Uint8Array(0), values: d.x, labels: d.labels, count: d.count, dim, classes: d.classNames.length };
}

/** A split for the training thread: whole, or sharded with the host-side reader of its shards. */
export async function hostSplit(ref: Ref): Promise<HostSplit> {
  const s = await readStoredSplit(ref);
  if (s.whole) return rawSplitOf(s.whole);
  const index = s.index;
  return {
    count: index.count,
    dim: sampleSize(index.shape),
    classes: index.classNames.length,
    shardCounts: index.shards.map((x) => x.count),
    load: async (i) => rawSplitOf(await readShard(index, i)),
  };
}

/** A split for evaluation in this thread: float samples whole, uint8 pixels as one shard (scaled a batch at a time, no float copy), or read shard by shard. */
export async function splitData(ref: Ref): Promise<SplitData> {
  const s = await readStoredSplit(ref);
  const part = (d: Dataset): DataPart => ({ x: d.x, y: d.labels, count: d.count });
  if (s.whole) {
    const d = s.whole;
    const info = { count: d.count, dim: sampleSize(d.shape), classes: d.classNames.length };
    return d.x instanceof Float32Array ? { ...info, x: d.x, y: d.labels } : { ...info, shardCounts: [d.count], load: async () => part(d) };
  }
  const index = s.index;
  return { count: index.count, dim: sampleSize(index.shape), classes: index.classNames.length, shardCounts: index.shards.map((x) => x.count), load: async (i) => part(await readShard(index, i)) };
}
