/**
 * fused-ops.ts's `DENSE_STEP` for the wasm backend on the native addon: a whole
 * training step of a stack of dense layers (ReLU hidden layers, linear logits,
 * mean softmax cross-entropy) in one kernel, for ml/train/step.ts.
 *
 * Through TF.js, an MLP's step is ~50 kernel calls (products, bias additions,
 * ReLUs, their gradients, reshapes and identities), each with the engine's
 * bookkeeping and the gradient tape's; on two cores that bookkeeping was a
 * sixth of the step. This kernel runs the op path's arithmetic (matmul.ts,
 * bias.ts, wasm-kernels/softmax-xent.ts, update.ts) in the same order, with
 * two pairs of passes fused (bias.c: bias and ReLU; the ReLU and bias
 * gradients), and skips the rest: the loss, the accuracy count, the new weights
 * and slots, and the hidden activations (for OUI) have the op path's bits.
 *
 * Inputs: x [n, d₀] float32, labels [n] int32, and per layer l the kernel
 * `w{l}` [d_l, d_{l+1}] and bias `b{l}` [d_{l+1}]; per variable k (w0, b0, w1,
 * …) its optimizer slots `s{k}_{j}`. Attrs: `layers`, `optimizer` ('adamw' or
 * 'sgd'), `params` (the update's, as ml/train/optimizer.ts sets them) and
 * `capture`. Outputs: the mean loss, the correct count, per variable its new
 * weights then its slots, and with `capture` each hidden layer's activations.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heap, Scope, type Info, type WasmAnyKernelFunc, type WasmKernelArgs } from '../wasm-kernels/common.js';
import { softmaxXentGradRows, softmaxXentRows } from '../wasm-kernels/softmax-xent.js';
import { runUpdate, updateGroup, UPDATE_SLOTS } from './update.js';
import type { NativeBlas } from './addon.js';

/** The batch index of a product without batch dimensions. */
const FIRST = new Int32Array(1);

/** The step's operands, checked: layer widths d₀ … d_L, the batch size and the optimizer. */
interface Operands {
  x: Info;
  labels: Info;
  w: Info[];
  b: Info[];
  slots: Info[][];
  widths: number[];
  n: number;
  optimizer: keyof typeof UPDATE_SLOTS;
}

function fail(what: string): never {
  throw new Error(`dense training step: ${what}`);
}

/** Reads and checks the kernel's inputs and attrs. */
function operands({ inputs, attrs = {} }: WasmKernelArgs): Operands {
  const layers = attrs.layers as number;
  const optimizer = attrs.optimizer as keyof typeof UPDATE_SLOTS;
  if (!Number.isInteger(layers) || layers < 1) fail(`layers must be a positive integer, got ${layers}`);
  if (!(optimizer in UPDATE_SLOTS)) fail(`optimizer must be adamw or sgd, got ${optimizer}`);
  const { x, labels } = inputs;
  if (!x || x.dtype !== 'float32' || x.shape.length !== 2) fail('x must be float32 [n, features]');
  const n = x.shape[0]!;
  if (!labels || labels.dtype !== 'int32' || labels.shape.length !== 1 || labels.shape[0] !== n) fail(`labels must be int32 [${n}]`);
  const w = Array.from({ length: layers }, (_, l) => inputs[`w${l}`]!);
  const b = Array.from({ length: layers }, (_, l) => inputs[`b${l}`]!);
  const widths = [x.shape[1]!];
  w.forEach((wl, l) => {
    if (!wl || wl.dtype !== 'float32' || wl.shape.length !== 2 || wl.shape[0] !== widths[l]) fail(`w${l} must be float32 [${widths[l]}, units]`);
    widths.push(wl.shape[1]!);
    const bl = b[l];
    if (!bl || bl.dtype !== 'float32' || bl.shape.length !== 1 || bl.shape[0] !== wl.shape[1]) fail(`b${l} must be float32 [${wl.shape[1]}]`);
  });
  const vars = w.flatMap((wl, l) => [wl, b[l]!]);
  const slots = vars.map((v, k) =>
    Array.from({ length: UPDATE_SLOTS[optimizer] }, (_, j) => {
      const s = inputs[`s${k}_${j}`];
      if (!s || s.dtype !== 'float32' || s.shape.join() !== v.shape.join()) fail(`slot s${k}_${j} must be float32 [${v.shape}]`);
      return s;
    }),
  );
  return { x, labels, w, b, slots, widths, n, optimizer };
}

/** The step's buffers: per hidden layer its activation a and the gradients of a and of its input z; the logits, softmax and their gradient; the variables' gradients. */
interface Buffers {
  a: Info[];
  da: Info[];
  dz: Info[];
  logits: Info;
  probs: Info;
  dlogits: Info;
  dw: Info[];
  db: Info[];
}

function allocate(s: Scope, o: Operands): Buffers {
  const make = (shape: number[]) => s.track(s.backend.makeOutput(shape, 'float32'));
  const hidden = o.widths.slice(1, -1);
  const layer = () => hidden.map((d) => make([o.n, d]));
  const classes = o.widths[o.widths.length - 1]!;
  return {
    a: layer(),
    da: layer(),
    dz: layer(),
    logits: make([o.n, classes]),
    probs: make([o.n, classes]),
    dlogits: make([o.n, classes]),
    dw: o.w.map((t) => make(t.shape)),
    db: o.b.map((t) => make(t.shape)),
  };
}

/** Forward pass, loss and backward pass on heap views (taken after the last allocation); returns the loss and the correct count. */
function compute(blas: NativeBlas, backend: BackendWasm, o: Operands, buf: Buffers): { loss: number; correct: number } {
  const v = (t: Info) => heap(backend, t) as Float32Array;
  const { n, widths } = o;
  const last = o.w.length - 1;
  const classes = widths[last + 1]!;
  const input = (l: number) => (l === 0 ? v(o.x) : v(buf.a[l - 1]!));
  for (let l = 0; l < last; l++) {
    blas.sgemm(false, false, n, widths[l + 1]!, widths[l]!, input(l), v(o.w[l]!), v(buf.a[l]!), FIRST, FIRST);
    blas.biasRelu(v(buf.a[l]!), v(o.b[l]!));
  }
  blas.sgemm(false, false, n, classes, widths[last]!, input(last), v(o.w[last]!), v(buf.logits), FIRST, FIRST);
  blas.epilogue(v(buf.logits), classes, v(o.b[last]!), 0, 0);
  const labels = heap(backend, o.labels) as Int32Array;
  const result = softmaxXentRows(v(buf.logits), labels, v(buf.probs), n, classes);
  softmaxXentGradRows(1, v(buf.probs), labels, v(buf.dlogits), n, classes);
  for (let l = last; l >= 0; l--) {
    const dOut = l === last ? v(buf.dlogits) : v(buf.dz[l]!);
    if (l < last) blas.reluGradSum(v(buf.da[l]!), v(buf.a[l]!), dOut, v(buf.db[l]!));
    else blas.sumMiddle(dOut, v(buf.db[l]!), 1, n, widths[l + 1]!);
    if (l > 0) blas.sgemm(false, true, n, widths[l]!, widths[l + 1]!, dOut, v(o.w[l]!), v(buf.da[l - 1]!), FIRST, FIRST);
    blas.sgemm(true, false, widths[l]!, widths[l + 1]!, n, input(l), dOut, v(buf.dw[l]!), FIRST, FIRST);
  }
  return result;
}

/** fused-ops.ts's `DENSE_STEP` kernel function on `blas`. */
export function nativeDenseStep(blas: NativeBlas): WasmAnyKernelFunc {
  return (args: WasmKernelArgs): Info[] => {
    const o = operands(args);
    const { backend } = args;
    const s = new Scope(backend);
    try {
      const buf = allocate(s, o);
      const loss = s.track(backend.makeOutput([], 'float32'));
      const correct = s.track(backend.makeOutput([], 'float32'));
      const grads = buf.dw.flatMap((dw, l) => [dw, buf.db[l]!]);
      const groups = o.w.flatMap((wl, l) => [wl, o.b[l]!]).map((t, k) => updateGroup(backend, t, grads[k]!, o.slots[k]!));
      groups.forEach((g) => [g.next, ...g.slots].forEach((t) => s.track(t)));
      const result = compute(blas, backend, o, buf);
      (heap(backend, loss) as Float32Array)[0] = result.loss;
      (heap(backend, correct) as Float32Array)[0] = result.correct;
      const updated = runUpdate(blas, backend, o.optimizer, groups, args.attrs!.params as number[]);
      const captured = args.attrs!.capture ? buf.a : [];
      return [loss, correct, ...updated, ...captured].map((t) => s.keep(t));
    } finally {
      s.dispose();
    }
  };
}
