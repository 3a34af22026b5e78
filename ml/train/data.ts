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

/** Copies rows `idx[from..to)` of `data` into `xb`/`yb` (host-side batch assembly, no tensor slicing). */
export function gatherBatch(data: LabelledData, idx: Int32Array | number[], from: number, to: number, xb: Float32Array, yb: Int32Array): void {
  const d = data.dim;
  for (let r = from; r < to; r++) {
    const i = idx[r]!;
    xb.set(data.x.subarray(i * d, (i + 1) * d), (r - from) * d);
    yb[r - from] = data.y[i]!;
  }
}
