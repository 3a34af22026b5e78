/**
 * The native provider's fused training kernels: the dense training step
 * (fused-ops.ts's `DENSE_STEP`, native/dense-step.ts, ml/train/step.ts) and the
 * ReLU convolution (`CONV_BIAS_RELU`, `RELU_GRAD_SUM`, fused-layers.ts). Which
 * models and layers they take, and that a training through them has the bits of
 * the same training through TF.js's own kernels and gradient tape (weights,
 * optimizer slots, loss, accuracy and OUI, with a partial last batch), on 1 and 4
 * product threads, and after resuming from a checkpoint; bad operands are
 * refused naming the input.
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
import { CONV_BIAS_RELU, DENSE_STEP, RELU_GRAD_SUM, SGD_UPDATE, hasKernel } from '../../ml/backend/fused-ops.js';
import { fusedTrainingLayer } from '../../ml/backend/fused-layers.js';
import { buildModel } from '../../ml/models/build.js';
import { buildMlp } from '../../ml/models/mlp.js';
import { denseStack } from '../../ml/models/dense-stack.js';
import { Optimizer, type OptimizerSpec } from '../../ml/train/optimizer.js';
import { trainingStep } from '../../ml/train/step.js';
import { trainClassifier, type TrainCheckpoint, type TrainOptions } from '../../ml/train/trainer.js';
import { nativeSkip, requireNativeProvider } from '../helpers/native-provider.js';
import { clusters, rows } from '../helpers/synthetic.js';
import { values } from '../helpers/backend-compare.js';

const skip = nativeSkip;

before(async () => {
  if (!skip) await requireNativeProvider();
});

const mlp = (hidden: number[], seed = 3) => buildMlp({ inputDim: 96, hidden, classes: 3, initializer: 'glorotUniform', seed });

test('a dense stack is recognized; other models are not', () => {
  const plain = mlp([16, 8]);
  assert.equal(denseStack(plain)?.length, 3);
  const linear = buildMlp({ inputDim: 5, hidden: [], classes: 2, initializer: 'glorotUniform', seed: 1 });
  assert.equal(denseStack(linear)?.length, 1, 'a linear classifier is a stack of one');
  const cnn = buildModel({ kind: 'cnn', hidden: [], filters: [4], dense: [8], channels: [], initializer: 'glorotUniform' }, [8, 8, 1], 3, 2);
  assert.equal(denseStack(cnn), null, 'a CNN');
  const tanh = tf.sequential({ layers: [tf.layers.dense({ units: 4, activation: 'tanh', inputShape: [5] }), tf.layers.dense({ units: 2 })] });
  assert.equal(denseStack(tanh), null, 'a tanh hidden layer');
  const reluLogits = tf.sequential({ layers: [tf.layers.dense({ units: 2, activation: 'relu', inputShape: [5] })] });
  assert.equal(denseStack(reluLogits), null, 'logits through a ReLU');
  const noBias = tf.sequential({ layers: [tf.layers.dense({ units: 4, activation: 'relu', inputShape: [5] }), tf.layers.dense({ units: 2, useBias: false })] });
  assert.equal(denseStack(noBias), null, 'a layer without bias');
  const frozen = mlp([6]);
  frozen.layers[0]!.trainable = false;
  assert.equal(denseStack(frozen), null, 'a frozen layer');
  tf.dispose([plain, linear, cnn, tanh, reluLogits, noBias, frozen].flatMap((m) => m.weights.map((w) => w.read())));
});

const all = clusters(300, 96, 3, 4);
const data = rows(all, 0, 230);
const val = rows(all, 230, 300);
const SPECS: OptimizerSpec[] = [
  { name: 'sgd', weightDecay: 1e-2, weightDecayMode: 'coupled', momentum: 0.9 },
  { name: 'adamw', weightDecay: 1e-2, weightDecayMode: 'decoupled' },
];
const opts = (optimizer: OptimizerSpec): TrainOptions => ({
  epochs: 2,
  batchSize: 64,
  learningRate: 2e-2,
  schedule: { kind: 'cosine' },
  optimizer,
  seed: 7,
  oui: { pairs: 12, every: 2 },
});

/** A training's weights, slots and per-epoch figures as bytes and numbers, of the model `build` makes: in one run, or stopping after epoch 1 and resuming. */
async function train(o: TrainOptions, build: () => tf.LayersModel, resume = false): Promise<{ arrays: Buffer[]; history: number[] }> {
  let ckpt: TrainCheckpoint | undefined;
  if (resume) {
    const first = build();
    ckpt = await trainClassifier(first, data, val, o, { untilEpoch: 1 });
    first.dispose();
  }
  const model = build();
  const final = await trainClassifier(model, data, val, o, ckpt ? { resumeFrom: ckpt } : {});
  model.dispose();
  return {
    arrays: [...final.weights, ...final.optimizer.slots].map((w) => Buffer.from(w.buffer)),
    history: final.history.flatMap((h) => [h.loss, h.trainAccuracy, h.oui, h.valAccuracy ?? NaN]),
  };
}

function assertSame(a: { arrays: Buffer[]; history: number[] }, b: { arrays: Buffer[]; history: number[] }, what: string): void {
  assert.equal(a.arrays.length, b.arrays.length);
  a.arrays.forEach((x, i) => assert.ok(x.equals(b.arrays[i]!), `${what}: array ${i} differs`));
  assert.deepEqual(a.history, b.history, `${what}: loss, accuracy, OUI or validation accuracy differ`);
}

test('an MLP trains through the fused step; a CNN, or an MLP without the fused update, through the tape', { skip }, () => {
  const model = mlp([16]);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  assert.ok(trainingStep(model, vars, new Optimizer(SPECS[0]!)).fused);
  const cnn = buildModel({ kind: 'cnn', hidden: [], filters: [4], dense: [8], channels: [], initializer: 'glorotUniform' }, [8, 8, 1], 3, 2);
  assert.ok(
    !trainingStep(
      cnn,
      cnn.trainableWeights.map((w) => w.read() as tf.Variable),
      new Optimizer(SPECS[0]!),
    ).fused,
  );
  tf.unregisterKernel(SGD_UPDATE, 'wasm');
  assert.ok(!trainingStep(model, vars, new Optimizer(SPECS[0]!)).fused, 'no fused SGD update');
  registerNativeKernels();
  assert.ok(trainingStep(model, vars, new Optimizer(SPECS[0]!)).fused);
  model.dispose();
  cnn.dispose();
});

/**
 * For each optimizer: trains `build`'s model with fused `kernel` on 1 and 4 threads and resumed
 * after epoch 1, then with `kernel` unregistered; all four must have the same bits.
 */
async function assertFusedBits(kernel: string, build: () => tf.LayersModel, unfused: string): Promise<void> {
  await tf.setBackend('wasm');
  const blas = nativeBlas();
  assert.ok(blas.active && hasKernel(kernel));
  for (const spec of SPECS) {
    const o = opts(spec);
    blas.blas.setThreads(1);
    const fused = await train(o, build);
    blas.blas.setThreads(4);
    const fused4 = await train(o, build);
    blas.blas.setThreads(currentThreads());
    const resumed = await train(o, build, true);
    tf.unregisterKernel(kernel, 'wasm');
    assert.ok(!hasKernel(kernel));
    const plain = await train(o, build);
    registerNativeKernels();
    assert.ok(hasKernel(kernel));
    assertSame(fused, plain, `${spec.name}: fused vs ${unfused}`);
    assertSame(fused, fused4, `${spec.name}: 1 vs 4 threads`);
    assertSame(fused, resumed, `${spec.name}: resumed`);
  }
}

test('the fused step gives the tape bits: weights, slots, loss, accuracy and OUI, SGD and AdamW, resumed or not, on 1 and 4 threads', { skip }, async () => {
  // Products of 64×300×96 multiply-adds and more are shared among threads.
  await assertFusedBits(DENSE_STEP, () => mlp([300, 24]), 'tape');
});

test('the fused step refuses bad operands, naming the input', { skip }, () => {
  const x = tf.zeros([4, 6]);
  const labels = tf.zeros([4], 'int32');
  const w0 = tf.zeros([6, 3]);
  const b0 = tf.zeros([3]);
  const run =
    (inputs: tf.NamedTensorMap, attrs: Record<string, unknown> = {}) =>
    () =>
      tf
        .engine()
        .runKernel(DENSE_STEP, { x, labels, w0, b0, s0_0: w0, s1_0: b0, ...inputs }, { layers: 1, optimizer: 'sgd', params: [0.1, 0, 0, 0.9], capture: false, ...attrs } as unknown as tf.NamedAttrMap);
  assert.throws(run({ b0: tf.zeros([4]) }), /b0 must be float32 \[3\]/);
  assert.throws(run({ w0: tf.zeros([5, 3]) }), /w0 must be float32 \[6, units\]/);
  assert.throws(run({ labels: tf.zeros([3], 'int32') }), /labels must be int32 \[4\]/);
  assert.throws(run({ s1_0: tf.zeros([2]) }), /slot s1_0 must be float32 \[3\]/);
  assert.throws(run({}, { optimizer: 'lion' }), /optimizer must be adamw or sgd/);
  const out = tf.engine().runKernel<tf.Tensor[]>(DENSE_STEP, { x, labels, w0, b0, s0_0: tf.zeros([6, 3]), s1_0: tf.zeros([3]) }, {
    layers: 1,
    optimizer: 'sgd',
    params: [0.1, 0, 0, 0.9],
    capture: false,
  } as unknown as tf.NamedAttrMap);
  assert.equal(out.length, 6, 'loss, count, and per variable its weights and one slot');
  assert.ok(Math.abs(out[0]!.dataSync()[0]! - Math.log(3)) < 1e-6, 'zero weights: the loss is log(classes)');
  tf.dispose(out);
});

/**
 * A CNN whose ReLU convolutions differ in stride, padding and kernel size, with a
 * linear convolution and a dense ReLU layer. The first layer (9 values per patch,
 * 16 filters) runs on the addon's direct convolution, the others through im2col.
 */
function convNet(seed: number): tf.Sequential {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed + k });
  return tf.sequential({
    layers: [
      tf.layers.reshape({ targetShape: [8, 12, 1], inputShape: [96] }),
      tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.conv2d({ filters: 5, kernelSize: [2, 3], strides: 2, padding: 'valid', activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.conv2d({ filters: 4, kernelSize: 1, kernelInitializer: init(3) }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 7, activation: 'relu', kernelInitializer: init(4) }),
      tf.layers.dense({ units: 3, kernelInitializer: init(5) }),
    ],
  });
}

test('ReLU convolutions train fused (NHWC, dilation 1, with bias); others as TF.js layers', { skip }, () => {
  const x = tf.zeros([2, 6, 6, 3]);
  const conv = (cfg: Partial<Parameters<typeof tf.layers.conv2d>[0]>) => {
    const layer = tf.layers.conv2d({ filters: 2, kernelSize: 3, activation: 'relu', ...cfg });
    layer.apply(x);
    return layer;
  };
  const fused = fusedTrainingLayer(conv({}), x);
  assert.ok(fused, 'a plain ReLU convolution');
  assert.deepEqual(fused.shape, [2, 4, 4, 2]);
  assert.equal(fusedTrainingLayer(conv({ activation: 'tanh' }), x), null, 'tanh');
  assert.equal(fusedTrainingLayer(conv({ useBias: false }), x), null, 'no bias');
  assert.equal(fusedTrainingLayer(conv({ dilationRate: 2 }), x), null, 'dilated');
  tf.dispose([x, fused]);
});

test('fused ReLU convolutions give the bits of Conv2D, Add and Relu: weights, slots, loss and OUI, resumed or not, on 1 and 4 threads', { skip }, async () => {
  assert.ok(hasKernel(RELU_GRAD_SUM));
  await assertFusedBits(CONV_BIAS_RELU, () => convNet(11), 'Conv2D, Add, Relu');
});

test('the fused ReLU gradient and bias gradient have the bits of ReluGrad and Sum: signed zeros, NaN, infinities, a partial group of rows, order-sensitive sums', { skip }, () => {
  const status = nativeBlas();
  assert.ok(status.active);
  const special = [1, -1, 0, -0, NaN, Infinity, -Infinity, 2.5, 1e-40, -1e-40, 3e38, -7];
  // Rows cycling through 1, 1e20, -1e20 and 1: in float64 the ones survive or vanish with the order of the additions.
  const cancelling = Float32Array.from({ length: 4001 * 3 }, (_, i) => [1, 1e20, -1e20, 1][Math.floor(i / 3) % 4]! * (1 + (i % 3)));
  for (const [rows, channels, y, dy] of [
    [7, 5, null, null],
    [9, 12, null, null],
    [1, 3, null, null],
    [4001, 3, values(4001 * 3, 6).map(Math.abs), cancelling],
  ] as const) {
    const n = rows * channels;
    const yv = y ?? Float32Array.from({ length: n }, (_, i) => special[(i * 5) % special.length]!);
    const dyv = dy ?? Float32Array.from({ length: n }, (_, i) => special[(i * 7 + 3) % special.length]!);
    const dz = new Float32Array(n);
    const db = new Float32Array(channels);
    status.blas.reluGradSum(dyv, yv, dz, db);
    const dzRef = new Float32Array(n);
    const dbRef = new Float32Array(channels);
    status.blas.reluGrad(dyv, yv, dzRef);
    status.blas.sumMiddle(dzRef, dbRef, 1, rows, channels);
    assert.ok(Buffer.from(dz.buffer).equals(Buffer.from(dzRef.buffer)), `${rows}×${channels}: dz`);
    assert.ok(Buffer.from(db.buffer).equals(Buffer.from(dbRef.buffer)), `${rows}×${channels}: db`);
  }
});
