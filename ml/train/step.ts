/**
 * One training step of the loop (trainer.ts): a batch's mean softmax
 * cross-entropy, the gradients, the optimizer's update, and the activations OUI
 * measures where the batch is measured. Two ways to one result:
 *
 * - the gradient tape: TF.js's `variableGrads` over the model's layers, then
 *   the optimizer; any layers model, any backend;
 * - one fused kernel (fused-ops.ts's `DENSE_STEP`) for a plain stack of dense
 *   layers (ml/models/dense-stack.ts) where the backend has it and the
 *   optimizer's fused update (the native provider): the same kernels in the
 *   same order without the tape's and the engine's per-op bookkeeping, so the
 *   weights, the loss and OUI are the same bits either way.
 */
import * as tf from '@tensorflow/tfjs';
import { forwardCapture } from '../models/forward.js';
import { denseStack, type DenseLayerVars } from '../models/dense-stack.js';
import { softmaxCrossEntropyAndCount } from '../backend/fused-loss.js';
import { DENSE_STEP, denseStep, hasKernel } from '../backend/fused-ops.js';
import type { Optimizer } from './optimizer.js';

/** What a step gives back: the batch's mean loss and its correct count (tensors, inside the caller's tidy). */
export interface StepResult {
  loss: tf.Scalar;
  correct: tf.Scalar;
}

/** Trains on batch `x` with int32 `labels` at learning rate `lr`; `record` receives the activations where given. */
export type TrainingStep = (x: tf.Tensor, labels: tf.Tensor1D, lr: number, record: ((activations: tf.Tensor[]) => void) | null) => StepResult;

/** The tape's step over any layers model. */
function tapeStep(model: tf.LayersModel, vars: tf.Variable[], opt: Optimizer): TrainingStep {
  return (x, labels, lr, record) => {
    let correct: tf.Scalar | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const { output, activations } = forwardCapture(model, x, true);
      record?.(activations);
      const step = softmaxCrossEntropyAndCount(output as tf.Tensor2D, labels);
      correct = step.correct;
      return step.loss;
    }, vars);
    opt.apply(
      vars,
      vars.map((v) => grads[v.name]!),
      lr,
    );
    return { loss: value, correct: correct! };
  };
}

/** The fused kernel's step over a dense stack. */
function fusedDenseStep(layers: DenseLayerVars[], vars: tf.Variable[], opt: Optimizer): TrainingStep {
  const tensors = layers.map(({ kernel, bias }) => ({ kernel: kernel.read(), bias: bias.read() }));
  return (x, labels, lr, record) => {
    const { params, slots } = opt.startFused(vars, lr);
    const out = denseStep(x, labels, tensors, slots, { optimizer: opt.spec.name, params }, record !== null);
    opt.assignFused(vars, out.updated);
    record?.(out.activations);
    return { loss: out.loss, correct: out.correct };
  };
}

/** The step chosen for a training: whether it runs as the one fused kernel, and the step itself. */
export interface ChosenStep {
  fused: boolean;
  run: TrainingStep;
}

/** The step for `model` (its trainable variables `vars`, in order) with `opt` on the backend in use: fused where it can be, else the tape's. */
export function trainingStep(model: tf.LayersModel, vars: tf.Variable[], opt: Optimizer): ChosenStep {
  const layers = hasKernel(DENSE_STEP) ? denseStack(model) : null;
  if (layers && opt.fusedKernel(vars)) return { fused: true, run: fusedDenseStep(layers, vars, opt) };
  return { fused: false, run: tapeStep(model, vars, opt) };
}
