/**
 * The batches of one training epoch, in a seeded order, from data in memory or read
 * shard by shard.
 *
 * In memory: one permutation of all rows (the order lightpath always trained in).
 * Sharded: the epoch first draws an order of the shards, then walks it in windows of
 * `SHARD_WINDOW` shards; the rows of a window are permuted together, so a batch mixes
 * samples of neighbouring shards, and a batch at a window's end continues into the next
 * window (every batch but the epoch's last is full, as in memory). The next window is
 * read while the current one trains. All draws come from the trainer's generator in a
 * fixed sequence, so an epoch's order is a function of the seed and the epoch, and a run
 * resumed from an epoch's checkpoint continues exactly. Preparation writes the training
 * split's shards in a seeded random order, so each shard is a sample of every class.
 */
import type { Rng } from '../rng.js';
import { gatherRows, isSharded, type DataPart, type LabelledData, type SplitData } from './data.js';

/** Shards whose rows are permuted together (and held in memory at once, plus the next window being read). */
export const SHARD_WINDOW = 2;

/** The shard windows of an epoch: `SHARD_WINDOW` shards at a time, in a seeded order. */
function shardWindows(shards: number, rng: Rng): number[][] {
  const order = rng.shuffle(Int32Array.from({ length: shards }, (_, i) => i));
  const windows: number[][] = [];
  for (let i = 0; i < shards; i += SHARD_WINDOW) windows.push(Array.from(order.subarray(i, i + SHARD_WINDOW)));
  return windows;
}

/** One epoch's batches (see the module comment). */
export class EpochBatches {
  private readonly windows: number[][];
  private nextWindow = 0;
  private pending: Promise<DataPart[]> | null = null;
  private parts: DataPart[] = [];
  private order = new Int32Array(0);
  private pos = 0;

  constructor(
    private readonly data: SplitData,
    private readonly rng: Rng,
  ) {
    this.windows = isSharded(data) ? shardWindows(data.shardCounts.length, rng) : [[0]];
  }

  private read(w: number): Promise<DataPart[]> {
    const d = this.data;
    const p = isSharded(d) ? Promise.all(this.windows[w]!.map((i) => d.load(i))) : Promise.resolve([d]);
    // Awaited when the window is reached; until then a failed read must not count as unhandled.
    p.catch(() => undefined);
    return p;
  }

  /** Moves to the next window (permuting its rows); false when the epoch has none left. */
  private async advance(): Promise<boolean> {
    if (this.nextWindow >= this.windows.length) return false;
    const current = this.pending ?? this.read(this.nextWindow);
    this.nextWindow++;
    this.pending = this.nextWindow < this.windows.length ? this.read(this.nextWindow) : null;
    this.parts = await current;
    const rows = this.parts.reduce((n, p) => n + p.count, 0);
    this.order = new Int32Array(rows);
    for (let i = 0; i < rows; i++) this.order[i] = i;
    this.rng.shuffle(this.order);
    this.pos = 0;
    return true;
  }

  /** Fills `xb`/`yb` with the next batch of up to `size` rows; returns the rows filled (0 once the epoch is done). */
  async fill(xb: Float32Array, yb: Int32Array, size: number, dim: number): Promise<number> {
    let n = 0;
    while (n < size) {
      if (this.pos >= this.order.length && !(await this.advance())) break;
      const take = Math.min(size - n, this.order.length - this.pos);
      if (this.parts.length === 1) gatherRows(this.parts[0]!, dim, this.order, this.pos, this.pos + take, xb, yb, n);
      else for (let r = 0; r < take; r++) this.gatherOne(this.order[this.pos + r]!, dim, xb, yb, n + r);
      n += take;
      this.pos += take;
    }
    return n;
  }

  /** Copies row `row` of the window (its parts one after the other) to batch row `at`. */
  private gatherOne(row: number, dim: number, xb: Float32Array, yb: Int32Array, at: number): void {
    let i = row;
    let k = 0;
    while (i >= this.parts[k]!.count) i -= this.parts[k++]!.count;
    gatherRows(this.parts[k]!, dim, [i], 0, 1, xb, yb, at);
  }
}

/** A part as training data in memory (float32 inputs). */
export function partAsLabelled(part: DataPart, dim: number, classes: number): LabelledData {
  if (part.x instanceof Float32Array) return { x: part.x, y: part.y, count: part.count, dim, classes };
  const x = new Float32Array(part.x.length);
  for (let i = 0; i < x.length; i++) x[i] = part.x[i]! / 255;
  return { x, y: part.y, count: part.count, dim, classes };
}

/** Data in memory for what needs it whole (the stabilization probe): itself, or the first shard of sharded data. */
export async function inMemorySample(data: SplitData): Promise<LabelledData> {
  return isSharded(data) ? partAsLabelled(await data.load(0), data.dim, data.classes) : data;
}
