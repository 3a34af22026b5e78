/**
 * lightpath's fused training kernels as TF.js ops: one kernel in place of a
 * chain of elementwise ops, registered by a backend that has them (the native
 * provider, native-kernels.ts) and used only where the backend in use does;
 * elsewhere the callers run the op chains. Each kernel gives the bits of the
 * chain it replaces, so switching between the two never changes a result.
 *
 * - `ADAMW_UPDATE`, `SGD_UPDATE`: one optimizer step over all variables
 *   (ml/train/optimizer.ts states the arithmetic).
 * - `RELU_GRAD`: ReLU's gradient, dy · step(x), in place of TF.js's Step, Cast
 *   and Multiply (`registerReluGradient` routes Relu's gradient to it).
 * - `SOFTMAX_XENT`, `SOFTMAX_XENT_GRAD`: a classifier's mean softmax
 *   cross-entropy, its accuracy count and the logits' gradient
 *   (fused-loss.ts; wasm-kernels/softmax-xent.ts states the arithmetic).
 * - `CONV_BIAS_RELU`, `RELU_GRAD_SUM`: a Conv2D layer with bias and ReLU in
 *   training as one kernel, and its ReLU and bias gradients in one pass, in
 *   place of Conv2D, Add, Relu and of ReluGrad, Sum (fused-layers.ts).
 * - `DENSE_STEP`: a whole training step (forward, loss, backward, update) of a
 *   stack of dense ReLU layers with linear logits, the bits of the tape's step
 *   over the kernels above (ml/train/step.ts; native/dense-step.ts).
 */
import * as tf from '@tensorflow/tfjs';

/** The fused AdamW update: per variable inputs [w, g, m, v], outputs [w', m', v']; attrs.params as ml/train/optimizer.ts sets them. */
export const ADAMW_UPDATE = 'LightpathAdamWUpdate';
/** The fused SGD-momentum update: per variable inputs [w, g, b], outputs [w', b']; attrs.params as ml/train/optimizer.ts sets them. */
export const SGD_UPDATE = 'LightpathSgdUpdate';
/** The ReLU gradient: inputs dy and x (Relu's input), output dy · step(x). */
export const RELU_GRAD = 'LightpathReluGrad';

/** Mean softmax cross-entropy: inputs logits [n, c] float32 and labels [n] int32; outputs [loss, correct count, softmax]. */
export const SOFTMAX_XENT = 'LightpathSoftmaxXent';
/** Its gradient: inputs dy (scalar), the softmax and the labels; output d logits. */
export const SOFTMAX_XENT_GRAD = 'LightpathSoftmaxXentGrad';

/** Conv2D, bias and ReLU: inputs x (NHWC), filter, bias; attrs as Conv2D's; output relu(conv2d(x, filter) + bias), the bits of the three kernels. */
export const CONV_BIAS_RELU = 'LightpathConv2DBiasRelu';
/** A ReLU layer's gradients from its output: inputs dy, y; outputs dz = dy · step(y) and db, dz summed over all axes but the last (Sum's bits). */
export const RELU_GRAD_SUM = 'LightpathReluGradSum';

/** A dense stack's training step: inputs and outputs as native/dense-step.ts states them. */
export const DENSE_STEP = 'LightpathDenseStep';

/** Weight-decay modes as the update kernels number them: none, coupled (g += wd·w), decoupled (update += wd·w). */
export const DECAY_MODES = { none: 0, coupled: 1, decoupled: 2 } as const;

/** Whether the backend in use has kernel `name`. */
export function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) != null;
}

/**
 * Runs the update kernel `name` on `groups` (one array of tensors per variable,
 * in the kernel's input order) with `params`; returns each variable's new
 * tensors in the kernel's output order. The caller owns (and disposes) them.
 * A kernel may write them where its inputs lie (copy-on-write): the inputs it
 * updates must not be read after this call except through its outputs.
 */
export function fusedUpdate(name: typeof ADAMW_UPDATE | typeof SGD_UPDATE, groups: tf.Tensor[][], params: number[]): tf.Tensor[][] {
  const inputs: tf.NamedTensorMap = {};
  groups.flat().forEach((t, i) => (inputs[`t${i}`] = t));
  const outs = tf.engine().runKernel<tf.Tensor | tf.Tensor[]>(name, inputs, { variables: groups.length, params });
  const flat = Array.isArray(outs) ? outs : [outs];
  const per = flat.length / groups.length;
  return groups.map((_, k) => flat.slice(k * per, (k + 1) * per));
}

let reluGradientRegistered = false;

/**
 * Routes Relu's gradient to `RELU_GRAD` where the backend in use has that
 * kernel (and dy is float32), else to TF.js's own gradient. Process wide, like
 * every TF.js gradient; calling it again does nothing.
 */
export function registerReluGradient(): void {
  if (reluGradientRegistered) return;
  const stock = tf.getGradient(tf.Relu);
  if (!stock) throw new Error('registerReluGradient: TF.js has no gradient for Relu');
  reluGradientRegistered = true;
  tf.registerGradient({
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const d = dy as tf.Tensor;
      const [x] = saved;
      if (!hasKernel(RELU_GRAD) || d.dtype !== 'float32' || x!.dtype !== 'float32') return stock.gradFunc(dy, saved, attrs);
      return { x: () => tf.engine().runKernel<tf.Tensor>(RELU_GRAD, { dy: d, x: x! }) };
    },
  });
}

/** What `denseStep` returns: the batch's mean loss and correct count, each variable's new [w, ...slots], and the hidden activations where captured. */
export interface DenseStepResult {
  loss: tf.Scalar;
  correct: tf.Scalar;
  updated: tf.Tensor[][];
  activations: tf.Tensor[];
}

/**
 * Runs `DENSE_STEP` (the backend in use must have it) for `layers` (kernel and
 * bias of each, in order) with each variable's optimizer `slots` (w0, b0, w1,
 * …); the caller owns the outputs. Like `fusedUpdate`, the kernel may write the
 * slots where they lie.
 */
export function denseStep(
  x: tf.Tensor,
  labels: tf.Tensor,
  layers: { kernel: tf.Tensor; bias: tf.Tensor }[],
  slots: tf.Tensor[][],
  update: { optimizer: 'adamw' | 'sgd'; params: number[] },
  capture: boolean,
): DenseStepResult {
  const inputs: tf.NamedTensorMap = { x, labels };
  layers.forEach(({ kernel, bias }, l) => {
    inputs[`w${l}`] = kernel;
    inputs[`b${l}`] = bias;
  });
  slots.forEach((group, k) => group.forEach((t, j) => (inputs[`s${k}_${j}`] = t)));
  const attrs = { layers: layers.length, optimizer: update.optimizer, params: update.params, capture };
  const [loss, correct, ...rest] = tf.engine().runKernel<tf.Tensor[]>(DENSE_STEP, inputs, attrs as unknown as tf.NamedAttrMap);
  const per = 1 + slots[0]!.length;
  const updated = slots.map((_, k) => rest.slice(k * per, (k + 1) * per));
  return { loss: loss as tf.Scalar, correct: correct as tf.Scalar, updated, activations: rest.slice(slots.length * per) };
}

let convBiasReluGradientRegistered = false;

/**
 * Registers `CONV_BIAS_RELU`'s gradient: `RELU_GRAD_SUM` from the saved output,
 * then the Conv2D gradients TF.js's own Conv2D gradient runs (each only where
 * its input needs it), so the gradients have the bits of the three kernels'
 * gradients. Process wide; calling it again does nothing.
 */
export function registerConvBiasReluGradient(): void {
  if (convBiasReluGradientRegistered) return;
  convBiasReluGradientRegistered = true;
  tf.registerGradient({
    kernelName: CONV_BIAS_RELU,
    inputsToSave: ['x', 'filter'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
      const [dz, db] = tf.engine().runKernel<tf.Tensor[]>(RELU_GRAD_SUM, { dy: dy as tf.Tensor, y });
      const common = { strides: attrs.strides, pad: attrs.pad, dataFormat: attrs.dataFormat } as unknown as tf.NamedAttrMap;
      return {
        x: () => tf.engine().runKernel<tf.Tensor>(tf.Conv2DBackpropInput, { dy: dz!, filter }, { ...common, inputShape: x.shape }),
        filter: () => tf.engine().runKernel<tf.Tensor>(tf.Conv2DBackpropFilter, { x, dy: dz! }, { ...common, filterShape: filter.shape }),
        bias: () => db!,
      };
    },
  });
}
