/**
 * GLAI's passes over stored splits, one shard at a time: a split larger than the
 * worker's memory budget was prepared in shards (activities/splits.ts), and the
 * statistics (sums) and accuracy (a count) need only one shard in memory. A whole
 * split is one part, read as before.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Ref } from '../contracts/types.js';
import { accumulateStats, type LinearStats } from '../ml/glai/statistics.js';
import type { SelectorWeights } from '../ml/glai/selector.js';
import { accuracyOf } from '../ml/glai/estimator.js';
import { isSharded, type LabelledData } from '../ml/train/data.js';
import { partAsLabelled } from '../ml/train/epoch-batches.js';
import { splitData } from './splits.js';

/** The samples of a stored split as in-memory parts, shard by shard, and how many there are in all. */
export async function splitParts(ref: Ref): Promise<{ count: number; parts: AsyncIterable<LabelledData> }> {
  const d = await splitData(ref);
  async function* parts(): AsyncGenerator<LabelledData> {
    if (!isSharded(d)) {
      yield d;
      return;
    }
    for (let i = 0; i < d.shardCounts.length; i++) yield partAsLabelled(await d.load(i), d.dim, d.classes);
  }
  return { count: d.count, parts: parts() };
}

/** Adds the statistics of every part to `stats` (METHODS.md §3: sums, so shard boundaries do not matter); progress counts samples over all parts. */
export async function accumulateParts(stats: LinearStats, w: SelectorWeights, parts: AsyncIterable<LabelledData>, onProgress?: (done: number) => void): Promise<void> {
  let before = 0;
  for await (const part of parts) {
    await accumulateStats(stats, w, part, (done) => onProgress?.(before + done));
    before += part.count;
  }
}

/** Accuracy of `logitsOf` over a stored split, shard by shard. */
export async function splitAccuracy(ref: Ref, logitsOf: (x: tf.Tensor2D) => tf.Tensor2D): Promise<number> {
  const { count, parts } = await splitParts(ref);
  let correct = 0;
  for await (const part of parts) correct += Math.round((await accuracyOf(part, logitsOf)) * part.count);
  return count ? correct / count : 0;
}
