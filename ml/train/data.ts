/** In-memory labelled data for training: flat float32 features on the host. */
export interface LabelledData {
  /** Features, row-major [count, dim]. */
  x: Float32Array;
  /** Class labels in [0, classes). */
  y: Int32Array;
  count: number;
  dim: number;
  classes: number;
}

/** One shard of a split as stored: uint8 pixels (model inputs × 1/255) or float features, and labels. */
export interface DataPart {
  x: Uint8Array | Float32Array;
  y: Int32Array;
  count: number;
}

/**
 * A split too large for memory, read one shard at a time (storage cut it into shards of
 * bounded size when it was prepared): `shardCounts[i]` samples in shard i, `load(i)` reads it.
 */
export interface ShardedData {
  count: number;
  dim: number;
  classes: number;
  shardCounts: number[];
  load(i: number): Promise<DataPart>;
}

/** Training or evaluation data: all in memory, or shard by shard. */
export type SplitData = LabelledData | ShardedData;

/** Whether `d` is read shard by shard. */
export const isSharded = (d: SplitData): d is ShardedData => 'shardCounts' in d;

/**
 * Host-side batch assembly (no tensor slicing): copies rows `idx[from..to)` of `part`
 * into `xb`/`yb` starting at batch row `at`; uint8 pixels become v / 255 (the float32
 * value `rawSplitToData` gives them, so a batch is the same however its rows were stored).
 */
export function gatherRows(part: DataPart, dim: number, idx: ArrayLike<number>, from: number, to: number, xb: Float32Array, yb: Int32Array, at: number): void {
  for (let r = from; r < to; r++) {
    const i = idx[r]!;
    const out = (at + r - from) * dim;
    if (part.x instanceof Float32Array) xb.set(part.x.subarray(i * dim, (i + 1) * dim), out);
    else for (let k = 0; k < dim; k++) xb[out + k] = part.x[i * dim + k]! / 255;
    yb[at + r - from] = part.y[i]!;
  }
}
