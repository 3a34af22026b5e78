/** Accuracy of a classifier on labelled data (in memory or shard by shard), batched, with asynchronous readback only. */
import * as tf from '@tensorflow/tfjs';
import { gatherRows, isSharded, type DataPart, type SplitData } from './data.js';

/** Hits of `model` on the rows of `part`, `batchSize` at a time. */
async function correctIn(model: tf.LayersModel, part: DataPart, dim: number, inputShape: number[], batchSize: number): Promise<number> {
  let correct = 0;
  const scratch = part.x instanceof Float32Array ? null : { x: new Float32Array(batchSize * dim), y: new Int32Array(batchSize) };
  const all = scratch ? Int32Array.from({ length: part.count }, (_, i) => i) : null;
  for (let from = 0; from < part.count; from += batchSize) {
    const to = Math.min(part.count, from + batchSize);
    if (scratch) gatherRows(part, dim, all!, from, to, scratch.x, scratch.y, 0);
    const xs = scratch ? scratch.x.subarray(0, (to - from) * dim) : (part.x as Float32Array).subarray(from * dim, to * dim);
    const ys = scratch ? scratch.y.subarray(0, to - from) : part.y.subarray(from, to);
    const hits = tf.tidy(() => {
      const x = tf.tensor(xs, [to - from, ...inputShape]);
      const y = tf.tensor1d(ys, 'int32');
      const logits = model.apply(x, { training: false }) as tf.Tensor;
      return logits.argMax(1).equal(y).sum();
    });
    correct += (await hits.data())[0]!;
    hits.dispose();
  }
  return correct;
}

/** Fraction of rows of `data` whose arg-max logit equals the label; sharded data is read one shard at a time. */
export async function accuracy(model: tf.LayersModel, data: SplitData, batchSize = 1000): Promise<number> {
  const inputShape = model.inputs[0]!.shape.slice(1) as number[];
  if (!isSharded(data)) return (await correctIn(model, data, data.dim, inputShape, batchSize)) / data.count;
  let correct = 0;
  for (let i = 0; i < data.shardCounts.length; i++) correct += await correctIn(model, await data.load(i), data.dim, inputShape, batchSize);
  return correct / data.count;
}
