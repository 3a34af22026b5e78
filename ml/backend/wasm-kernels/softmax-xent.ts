/**
 * The classifier loss of a training step as two wasm kernels (fused-ops.ts's
 * `SOFTMAX_XENT` and `SOFTMAX_XENT_GRAD`, used by fused-loss.ts) in place of the
 * ~35 small kernels of TF.js's OneHot, softmaxCrossEntropy (logSumExp, its
 * reductions, the mean and their gradients) and the accuracy count (ArgMax,
 * Equal, Sum, Cast). The arrays are tiny (batch × classes), so the step's cost
 * there was kernel dispatch, not arithmetic: these run plain loops on the wasm
 * heap.
 *
 * They repeat, value for value, the float32 operations the cpu backend runs for
 * `tf.losses.softmaxCrossEntropy(tf.oneHot(labels), logits)` (default mean
 * reduction) and its gradient: each op's result rounded to float32, `Math.exp`
 * and `Math.log` as the cpu backend's Exp and Log, sums accumulated in a double
 * and rounded once as its Sum does. So the loss, the count and the logits'
 * gradient have the cpu backend's bits (test/unit/native-loss.test.ts).
 *
 * Forward: inputs logits [n, c] float32, labels [n] int32; outputs the mean
 * loss (scalar), the number of rows whose first arg-max is the label (float32
 * scalar) and the softmax [n, c] (saved for the gradient). A label outside
 * [0, c) is an all-zero one-hot row, as `tf.oneHot` makes it.
 * Gradient: inputs dy (the loss's, scalar), the softmax and labels; output
 * d logits = (dy / n) · (softmax − onehot).
 */
import type { Info, WasmAnyKernelFunc, WasmKernelArgs, WasmKernelFunc } from './common.js';
import { heap } from './common.js';

const f = Math.fround;

/** One row's loss and its softmax (into `probs` at `at`); whether its first arg-max is `label`. */
function row(logits: Float32Array, probs: Float32Array, at: number, c: number, label: number): { loss: number; hit: boolean } {
  let max = logits[at]!;
  let arg = 0;
  for (let j = 1; j < c; j++) {
    const v = logits[at + j]!;
    if (v > max) {
      max = v;
      arg = j;
    }
  }
  let sum = 0;
  for (let j = 0; j < c; j++) sum += f(Math.exp(f(logits[at + j]! - max)));
  const lse = f(max + f(Math.log(f(sum))));
  let loss = 0;
  for (let j = 0; j < c; j++) {
    const logProb = f(logits[at + j]! - lse);
    probs[at + j] = Math.exp(logProb);
    if (j === label) loss += -logProb;
  }
  return { loss: f(loss), hit: arg === label };
}

/**
 * The forward pass on heap views: writes the softmax of `x` [n, c] into `p`;
 * returns the mean loss (float32) and the number of rows whose first arg-max is
 * their label in `y`.
 */
export function softmaxXentRows(x: Float32Array, y: Int32Array, p: Float32Array, n: number, c: number): { loss: number; correct: number } {
  let total = 0;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const r = row(x, p, i * c, c, y[i]!);
    total += r.loss;
    if (r.hit) hits++;
  }
  return { loss: f(f(total) / n), correct: hits };
}

/** The gradient on heap views: d logits into `d` from the loss's gradient `dy`, the softmax `p` [n, c] and the labels `y`. */
export function softmaxXentGradRows(dy: number, p: Float32Array, y: Int32Array, d: Float32Array, n: number, c: number): void {
  const perRow = f(dy / n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) d[i * c + j] = perRow * f(p[i * c + j]! - (j === y[i] ? 1 : 0));
  }
}

/** The forward kernel function: [mean loss, correct count, softmax]. */
export const softmaxXent: WasmAnyKernelFunc = ({ inputs, backend }: WasmKernelArgs): Info[] => {
  const { logits, labels } = inputs;
  if (logits!.dtype !== 'float32' || logits!.shape.length !== 2 || labels!.dtype !== 'int32' || labels!.shape[0] !== logits!.shape[0]) {
    throw new Error(`softmax cross-entropy: needs float32 logits [n, classes] and int32 labels [n], got ${logits!.dtype} [${logits!.shape}] and ${labels!.dtype} [${labels!.shape}]`);
  }
  const [n, c] = logits!.shape as [number, number];
  const loss = backend.makeOutput([], 'float32');
  const correct = backend.makeOutput([], 'float32');
  const probs = backend.makeOutput([n, c], 'float32');
  // Views taken after the last allocation (an allocation may move the heap).
  const r = softmaxXentRows(heap(backend, logits!) as Float32Array, heap(backend, labels!) as Int32Array, heap(backend, probs) as Float32Array, n, c);
  (heap(backend, loss) as Float32Array)[0] = r.loss;
  (heap(backend, correct) as Float32Array)[0] = r.correct;
  return [loss, correct, probs];
};

/** The gradient kernel function: d logits from dy, the saved softmax and the labels. */
export const softmaxXentGrad: WasmKernelFunc = ({ inputs, backend }: WasmKernelArgs): Info => {
  const { dy, probs, labels } = inputs;
  const [n, c] = probs!.shape as [number, number];
  const out = backend.makeOutput([n, c], 'float32');
  const dyValue = (heap(backend, dy!) as Float32Array)[0]!;
  softmaxXentGradRows(dyValue, heap(backend, probs!) as Float32Array, heap(backend, labels!) as Int32Array, heap(backend, out) as Float32Array, n, c);
  return out;
};
