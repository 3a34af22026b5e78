/** Accuracy of a classifier on labelled data, batched, with asynchronous readback only. */
import * as tf from '@tensorflow/tfjs';
import type { LabelledData } from './data.js';

/** Fraction of rows of `data` whose arg-max logit equals the label. */
export async function accuracy(model: tf.LayersModel, data: LabelledData, batchSize = 1000): Promise<number> {
  const inputShape = model.inputs[0]!.shape.slice(1) as number[];
  let correct = 0;
  for (let from = 0; from < data.count; from += batchSize) {
    const to = Math.min(data.count, from + batchSize);
    const hits = tf.tidy(() => {
      const x = tf.tensor(data.x.subarray(from * data.dim, to * data.dim), [to - from, ...inputShape]);
      const y = tf.tensor1d(data.y.subarray(from, to), 'int32');
      const logits = model.apply(x, { training: false }) as tf.Tensor;
      return logits.argMax(1).equal(y).sum();
    });
    correct += (await hits.data())[0]!;
    hits.dispose();
  }
  return correct / data.count;
}
