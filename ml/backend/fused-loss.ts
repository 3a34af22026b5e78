/**
 * A classifier's training loss and accuracy count in one op: the mean softmax
 * cross-entropy of logits against integer labels, and the number of rows whose
 * arg-max is the label. Where the backend in use has the fused kernels
 * (fused-ops.ts's `SOFTMAX_XENT`, `SOFTMAX_XENT_GRAD`: lightpath's wasm
 * kernels) it runs them, two kernels per step in place of ~35; elsewhere it
 * runs TF.js's ops. Both give the cpu backend's bits.
 */
import * as tf from '@tensorflow/tfjs';
import { SOFTMAX_XENT, SOFTMAX_XENT_GRAD, hasKernel } from './fused-ops.js';

/** The loss (differentiable with respect to the logits) and the accuracy count (kept: the caller disposes it). */
export interface LossAndCount {
  loss: tf.Scalar;
  correct: tf.Scalar;
}

/** TF.js's ops: one-hot labels, `tf.losses.softmaxCrossEntropy` (mean), arg-max equal to the label. */
function stockLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): LossAndCount {
  const correct = tf.keep(logits.argMax(1).equal(labels).sum().toFloat() as tf.Scalar);
  const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, logits.shape[1]), logits) as tf.Scalar;
  return { loss, correct };
}

/** Mean softmax cross-entropy of `logits` [n, classes] against int32 `labels` [n], and how many rows it classifies right. */
export function softmaxCrossEntropyAndCount(logits: tf.Tensor2D, labels: tf.Tensor1D): LossAndCount {
  if (!hasKernel(SOFTMAX_XENT) || logits.dtype !== 'float32' || labels.dtype !== 'int32') return stockLoss(logits, labels);
  let correct: tf.Scalar | null = null;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const [loss, count, probs] = tf.engine().runKernel<tf.Tensor[]>(SOFTMAX_XENT, { logits: x, labels });
    correct = tf.keep(count as tf.Scalar);
    save([probs!]);
    return { value: loss!, gradFunc: (dy: tf.Tensor, [p]: tf.Tensor[]) => tf.engine().runKernel<tf.Tensor>(SOFTMAX_XENT_GRAD, { dy, probs: p!, labels }) };
  });
  const loss = op(logits) as tf.Scalar;
  return { loss, correct: correct! };
}
