/**
 * The native provider's fused step kernels (ml/backend/fused-ops.ts,
 * native/update.ts, native/pool.ts, native/bias.ts) against the cpu backend:
 * the optimizer updates bit for bit (every weight-decay mode, several steps, any
 * thread count), MaxPool and MaxPoolGrad, the bias addition, the bias gradient
 * and the ReLU gradient; and a training whose update runs fused has the bits of
 * one running the op chain, and resumes from a checkpoint bit-identically, also
 * where the wasm backend's XNNPACK convolutions keep weights packed (a ResNet).
 *
 * Where the addon cannot be built for want of OpenBLAS or a C compiler (or
 * LIGHTPATH_NATIVE=0) these tests skip, saying why; a build that fails otherwise
 * fails them.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { registerNativeKernels } from '../../ml/backend/native-kernels.js';
import { nativeBlas } from '../../ml/backend/native/addon.js';
import { currentThreads } from '../../ml/backend/native/threads.js';
import { ADAMW_UPDATE, RELU_GRAD, SGD_UPDATE, hasKernel } from '../../ml/backend/fused-ops.js';
import { Optimizer, type OptimizerSpec } from '../../ml/train/optimizer.js';
import { buildModel } from '../../ml/models/build.js';
import { buildResnet } from '../../ml/models/cnn.js';
import { trainClassifier, type TrainCheckpoint, type TrainOptions } from '../../ml/train/trainer.js';
import { nativeSkip, requireNativeProvider } from '../helpers/native-provider.js';
import { compare, input, reportWorst, runOn, valueAndGrads, values, type Input } from '../helpers/backend-compare.js';
import { clusters, rows } from '../helpers/synthetic.js';

const skip = nativeSkip;

before(async () => {
  if (!skip) await requireNativeProvider();
});

const SPECS: OptimizerSpec[] = [
  { name: 'adamw', weightDecay: 1e-2, weightDecayMode: 'decoupled' },
  { name: 'adamw', weightDecay: 1e-2, weightDecayMode: 'coupled', beta1: 0.8, beta2: 0.99, epsilon: 1e-6 },
  { name: 'adamw', weightDecay: 0, weightDecayMode: 'decoupled' },
  { name: 'sgd', weightDecay: 1e-2, weightDecayMode: 'coupled', momentum: 0.9 },
  { name: 'sgd', weightDecay: 1e-2, weightDecayMode: 'decoupled', momentum: 0.5 },
  { name: 'sgd', weightDecay: 0, weightDecayMode: 'coupled' },
];
/** Variable shapes: small ones, an empty one, and one large enough to be shared among threads. */
const SHAPES = [[7, 5], [5], [3, 0], [33, 17], [300, 257]];

/**
 * Weights and optimizer slots after `steps` updates of `spec` on `backend`, as
 * raw bytes; checks that a clone of a weight taken before (sharing its data on
 * wasm) keeps the value it had.
 */
async function runUpdates(backend: string, spec: OptimizerSpec, steps: number): Promise<Buffer[]> {
  await tf.setBackend(backend);
  const vars = SHAPES.map((s, k) => tf.tidy(() => tf.variable(tf.tensor(values(tf.util.sizeFromShape(s), k + 1), s))));
  const alias = tf.clone(vars[4]!);
  const opt = new Optimizer(spec);
  for (let step = 0; step < steps; step++) {
    const grads = SHAPES.map((s, k) => tf.tidy(() => tf.tensor(values(tf.util.sizeFromShape(s), 100 * step + k), s).mul(step + 1)));
    opt.apply(vars, grads, 0.05 / (step + 1));
    tf.dispose(grads);
  }
  assert.deepEqual(await alias.data(), values(tf.util.sizeFromShape(SHAPES[4]!), 5), `${backend}: a clone taken before the updates kept its value`);
  alias.dispose();
  const out = [...(await Promise.all(vars.map((v) => v.data()))), ...(await opt.state()).slots].map((d) => Buffer.from((d as Float32Array).buffer));
  opt.dispose();
  tf.dispose(vars);
  return out;
}

test('fused optimizer updates: the bits of the op chain on cpu, every weight-decay mode, on 1 and 4 threads', { skip }, async () => {
  await tf.setBackend('wasm');
  assert.ok(hasKernel(ADAMW_UPDATE) && hasKernel(SGD_UPDATE), 'the fused updates are registered on wasm');
  const blas = nativeBlas();
  assert.ok(blas.active);
  for (const spec of SPECS) {
    const label = `${spec.name} wd=${spec.weightDecay} ${spec.weightDecayMode}`;
    const cpu = await runUpdates('cpu', spec, 4);
    for (const threads of [1, 4]) {
      blas.blas.setThreads(threads);
      await tf.setBackend('wasm');
      const before = tf.memory().numTensors;
      const fused = await runUpdates('wasm', spec, 4);
      assert.equal(tf.memory().numTensors, before, `${label}: tensors leaked`);
      assert.equal(fused.length, cpu.length);
      fused.forEach((b, i) => assert.ok(b.equals(cpu[i]!), `${label}, ${threads} threads: array ${i} differs from cpu`));
    }
  }
  blas.blas.setThreads(currentThreads());
});

test('MaxPool and MaxPoolGrad: valid/same, 2×2/3×3 windows, stride 1/2 (overlapping windows), ties, a batch shared among threads', { skip }, async (t) => {
  const cases: [number[], number, number, 'valid' | 'same'][] = [
    [[2, 8, 8, 3], 2, 2, 'valid'],
    [[2, 7, 7, 5], 3, 2, 'same'],
    [[1, 6, 6, 4], 2, 1, 'same'],
    [[3, 9, 5, 33], 3, 3, 'valid'],
    [[16, 28, 28, 32], 2, 2, 'valid'],
  ];
  for (const [shape, size, stride, pad] of cases) {
    const pool = (x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, size, stride, pad);
    const out = tf.backend_util.computePool2DInfo(shape as [number, number, number, number], [size, size], [stride, stride], 1, pad).outShape;
    const label = `maxPool ${shape} ${size}×${size}/${stride} ${pad}`;
    await compare(label, [input(shape, 1), input(out, 2)], valueAndGrads(pool, 1));
    const ties: Input = { shape, data: values(tf.util.sizeFromShape(shape), 3).map((v) => Math.round(v * 2)) };
    await compare(`${label}, ties`, [ties, input(out, 4)], valueAndGrads(pool, 1));
  }
  reportWorst(t);
});

test('bias addition, its gradient (Sum over the leading axes) and the ReLU gradient', { skip }, async (t) => {
  const add = (x: tf.Tensor, b: tf.Tensor) => tf.relu(tf.add(x, b));
  await compare('conv bias + relu', [input([4, 5, 5, 6], 1), input([6], 2), input([4, 5, 5, 6], 3)], valueAndGrads(add, 2));
  await compare('conv bias + relu, shared among threads', [input([24, 28, 28, 32], 1), input([32], 2), input([24, 28, 28, 32], 3)], valueAndGrads(add, 2));
  await compare('dense bias + relu, bias first', [input([7], 1), input([9, 7], 2), input([9, 7], 3)], valueAndGrads(add, 2));
  await compare('same shapes', [input([3, 4], 1), input([3, 4], 2), input([3, 4], 3)], valueAndGrads(add, 2));
  await compare('broadcast of [1, 4] (wasm Add)', [input([3, 4], 1), input([1, 4], 2), input([3, 4], 3)], valueAndGrads(add, 2));
  for (const [axes, keepDims] of [
    [[0, 1, 2], false],
    [[0, 1], true],
    [[1], false],
    [[2], false],
  ] as const) {
    await compare(`sum ${axes} keepDims=${keepDims}`, [input([3, 4, 5, 6], 1)], (x) => tf.sum(x!, [...axes], keepDims));
  }
  reportWorst(t);
});

test("the bias gradient (sumMiddle) sums in wasm-kernels/layout.ts's order, on 1 and 4 threads: order-sensitive sums", { skip }, () => {
  const status = nativeBlas();
  assert.ok(status.active);
  const [outer, mid, inner] = [2, 9001, 40];
  // Rows cycling through 1, 1e20, -1e20 and 1 (plus noise): in float64 the ones survive or vanish with the order of the additions.
  const noise = values(outer * mid * inner, 9);
  const x = noise.map((v, i) => [1, 1e20, -1e20, 1][Math.floor(i / inner) % 4]! * (1 + (i % 5)) + v);
  // The order of wasm-kernels/layout.ts's sumMiddle: four rows at a time, pairwise, in float64.
  const expected = new Float32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (m: number) => x[(o * mid + m) * inner + i]!;
      let acc = 0;
      let m = 0;
      for (; m + 4 <= mid; m += 4) acc = acc + (at(m) + at(m + 1) + (at(m + 2) + at(m + 3)));
      for (; m < mid; m++) acc = acc + at(m);
      expected[o * inner + i] = acc;
    }
  }
  for (const threads of [1, 4]) {
    status.blas.setThreads(threads);
    const out = new Float32Array(outer * inner);
    status.blas.sumMiddle(x, out, outer, mid, inner);
    assert.deepEqual(Buffer.from(out.buffer), Buffer.from(expected.buffer), `${threads} thread(s)`);
  }
  status.blas.setThreads(currentThreads());
});

test('ReLU and its gradient give exactly the values of the cpu backend: signed zeros, NaN, infinities, denormals', { skip }, async () => {
  await tf.setBackend('wasm');
  assert.ok(hasKernel(RELU_GRAD));
  const x = Float32Array.from([1, -1, 0, -0, NaN, Infinity, -Infinity, 2.5, 1e-40, -1e-40]);
  const dy = Float32Array.from([0.5, 0.5, 0.5, -2, 3, -1, 1, NaN, Infinity, -Infinity]);
  const both = (xs: tf.Tensor, d: tf.Tensor) => [tf.relu(xs), tf.grad((v: tf.Tensor) => tf.relu(v))(xs, d)];
  const inputs: Input[] = [
    { shape: [10], data: x },
    { shape: [10], data: dy },
  ];
  const wasm = await runOn('wasm', inputs, both);
  const cpu = await runOn('cpu', inputs, both);
  await tf.setBackend('wasm');
  // Equal values, zeros of the same sign and NaN where cpu has NaN (a NaN's sign bit is not part of its value).
  wasm.data.forEach((d, i) =>
    assert.ok(
      Array.from(d).every((v, j) => Object.is(v, cpu.data[i]![j])),
      `output ${i}: wasm ${d} vs cpu ${cpu.data[i]}`,
    ),
  );
});

test("OUI's PairHamming: the wasm kernel's counts on 1 and 4 threads (NaN, signed zeros, infinities, rows shared among threads); a pair outside the batch is refused", { skip }, async () => {
  await tf.setBackend('wasm');
  const { PAIR_HAMMING, pairHamming } = await import('../../ml/backend/wasm-kernels/pair-hamming.js');
  const status = nativeBlas();
  assert.ok(status.active);
  assert.ok(Symbol.for('lightpath.nativeKernel') in (tf.getKernel(PAIR_HAMMING, 'wasm')!.kernelFunc as object), 'PairHamming is native');
  const special = [0, -0, NaN, Infinity, -Infinity, 1e-40, -1e-40];
  const rowsOf = (b: number, d: number) =>
    tf.tensor(
      Float32Array.from({ length: b * d }, (_, k) => (k % 11 === 0 ? special[(k / 11) % special.length]! : Math.sin(k * 0.7))),
      [b, d],
    );
  const pairs = { i: [0, 1, 2, 5, 7, 0], j: [1, 3, 4, 6, 7, 7] };
  for (const [b, d] of [
    [8, 13],
    [8, 40_000],
  ] as const) {
    const x = rowsOf(b, d);
    const backend = tf.backend() as never;
    const expected = (await tf
      .engine()
      .makeTensorFromTensorInfo(pairHamming({ inputs: { x }, attrs: pairs, backend } as never))
      .data()) as Float32Array;
    for (const threads of [1, 4]) {
      status.blas.setThreads(threads);
      const got = tf.engine().runKernel(PAIR_HAMMING, { x }, pairs) as tf.Tensor;
      assert.deepEqual(Array.from(await got.data()), Array.from(expected), `d = ${d}, ${threads} threads`);
      got.dispose();
    }
    assert.ok(
      expected.every((n, p) => (p === 4 ? n === 0 : n > 0 && n < d)),
      `counts ${expected}: a pair (7, 7) differs nowhere`,
    );
    assert.throws(() => tf.engine().runKernel(PAIR_HAMMING, { x }, { i: [0], j: [b] }), /pair \(0, 8\) outside the batch of 8/);
    x.dispose();
  }
  status.blas.setThreads(currentThreads());
});

const all = clusters(400, 64, 3, 1);
const data = rows(all, 0, 320);
const opts = (optimizer: OptimizerSpec): TrainOptions => ({
  epochs: 3,
  batchSize: 32,
  learningRate: 1e-2,
  schedule: { kind: 'constant' },
  optimizer,
  seed: 5,
  oui: { pairs: 28, every: 0 },
});
const cnn = () => buildModel({ kind: 'cnn', hidden: [], filters: [4, 8], dense: [16], channels: [], initializer: 'glorotUniform' }, [8, 8, 1], 3, 2);

/** A CNN's weights after `opts`'s epochs: in one run, or stopping after epoch 1 and resuming from its checkpoint. */
async function trainCnn(o: TrainOptions, resume: boolean): Promise<Buffer[]> {
  let ckpt: TrainCheckpoint | undefined;
  if (resume) {
    const first = cnn();
    ckpt = await trainClassifier(first, data, null, o, { untilEpoch: 1 });
    first.dispose();
  }
  const model = cnn();
  const final = await trainClassifier(model, data, null, o, ckpt ? { resumeFrom: ckpt } : {});
  model.dispose();
  return [...final.weights, ...final.optimizer.slots].map((w) => Buffer.from(w.buffer));
}

test('a CNN training: fused updates give the op chain bits, and resuming from a checkpoint gives the uninterrupted run', { skip }, async () => {
  await tf.setBackend('wasm');
  for (const spec of [SPECS[0]!, SPECS[3]!]) {
    const o = opts(spec);
    const fused = await trainCnn(o, false);
    const resumed = await trainCnn(o, true);
    const kernel = spec.name === 'adamw' ? ADAMW_UPDATE : SGD_UPDATE;
    tf.unregisterKernel(kernel, 'wasm');
    assert.ok(!hasKernel(kernel));
    const chain = await trainCnn(o, false);
    registerNativeKernels();
    assert.ok(hasKernel(kernel));
    fused.forEach((b, i) => {
      assert.ok(b.equals(resumed[i]!), `${spec.name}: array ${i} differs after resuming`);
      assert.ok(b.equals(chain[i]!), `${spec.name}: array ${i} differs from the op chain's`);
    });
  }
});

test('a ResNet training (linear convolutions: the wasm backend packs their weights per tensor) gets the op chain bits from the fused update', { skip }, async () => {
  await tf.setBackend('wasm');
  const o = opts(SPECS[0]!);
  const train = async () => {
    const model = buildResnet({ inputShape: [8, 8, 1], channels: [4, 8], classes: 3, initializer: 'glorotUniform', seed: 2 });
    const final = await trainClassifier(model, data, null, o);
    model.dispose();
    return [...final.weights, ...final.optimizer.slots].map((w) => Buffer.from(w.buffer));
  };
  const fused = await train();
  tf.unregisterKernel(ADAMW_UPDATE, 'wasm');
  const chain = await train();
  registerNativeKernels();
  assert.ok(hasKernel(ADAMW_UPDATE));
  fused.forEach((b, i) => assert.ok(b.equals(chain[i]!), `array ${i} differs from the op chain's`));
});
