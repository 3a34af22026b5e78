/**
 * GLAI on a CNN selector (METHODS.md §3): the convolutional trunk is frozen with
 * the structure and the dense head gates the features. The selector's pass on
 * flattened samples reproduces the model's own layers, an estimator fitted on
 * synthetic images evaluates, the structure id covers the trunk's weights, and a
 * model without a hidden dense layer (the residual CNN) is refused.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../ml/backend/select.js';
import { buildModel, type ModelSpec } from '../../ml/models/build.js';
import { modelFromParts, modelToParts } from '../../ml/models/io.js';
import { selectorLogits, selectorPass, selectorWeights, structureId } from '../../ml/glai/selector.js';
import { biasFeatures, featureDim } from '../../ml/glai/features.js';
import { accumulateStats, emptyStats } from '../../ml/glai/statistics.js';
import { DEFAULT_SOLVE, solveStatistics } from '../../ml/glai/solve.js';
import { selectorPrior } from '../../ml/glai/prior.js';
import { accuracyOf, linearLogits } from '../../ml/glai/estimator.js';
import { trainClassifier } from '../../ml/train/trainer.js';
import { syntheticImages } from '../../ml/data/synthetic.js';
import { imagesToData } from '../../ml/data/images.js';
import { InvalidInputError } from '../../contracts/errors.js';

before(async () => {
  await selectBackend();
});

const SHAPE: [number, number, number] = [8, 8, 1];
const cnnSpec: ModelSpec = { kind: 'cnn', hidden: [], filters: [4, 6], dense: [12, 6], channels: [], initializer: 'heNormal' };
const tinyCnn = (seed = 3) => buildModel(cnnSpec, SHAPE, 10, seed);

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => a.sub(b).abs().max().dataSync()[0]!);
}

test('selectorPass runs the trunk then the head: its pre-activations, masks and logits are the model’s own', async () => {
  const built = tinyCnn();
  // The activity reads the selector back from its stored parts: check that model too.
  const loaded = await modelFromParts(await modelToParts(built));
  const x = tf.randomUniform([7, 64], 0, 1, 'float32', 5) as tf.Tensor2D;
  for (const model of [built, loaded]) {
    const w = selectorWeights(model);
    assert.ok(w.trunk, 'a CNN selector has a frozen trunk');
    assert.deepEqual(
      w.kernels.map((k) => k.shape),
      [
        [2 * 2 * 6, 12],
        [12, 6],
        [6, 10],
      ],
    );
    // The model's layers applied one by one to the images: flatten's output feeds dense_0, dense_1.
    const outputs = new Map<string, tf.Tensor>();
    let h: tf.Tensor = x.reshape([7, ...SHAPE]);
    for (const layer of model.layers) outputs.set(layer.name, (h = layer.apply(h) as tf.Tensor));
    const { pre, post, masks } = selectorPass(w, x);
    const inputs = [outputs.get('flatten')!, outputs.get('dense_0')!];
    pre.forEach((z, l) => {
      const expected = tf.matMul(inputs[l] as tf.Tensor2D, w.kernels[l]!).add(w.biases[l]!);
      assert.ok(maxAbsDiff(z, expected) < 1e-5, `pre-activation of dense_${l}`);
      assert.ok(maxAbsDiff(post[l]!, outputs.get(`dense_${l}`)!) < 1e-5, `post-activation of dense_${l}`);
      assert.equal(maxAbsDiff(masks[l]!, z.greater(0).toFloat()), 0, `mask of dense_${l}`);
    });
    const predicted = model.predict(x.reshape([7, ...SHAPE])) as tf.Tensor;
    const logits = selectorLogits(w, x);
    assert.ok(maxAbsDiff(logits, predicted) < 1e-5, 'selector logits = model.predict');
    assert.ok(maxAbsDiff(logits, tf.matMul(post[1]!, w.kernels[2]!).add(w.biases[2]!)) < 1e-5, 'last post-activation × classifier = logits');
    tf.dispose([...outputs.values(), ...pre, ...post, ...masks, predicted, logits]);
  }
  loaded.dispose();
  built.dispose();
});

test('selectorPass keeps no intermediate trunk tensors', () => {
  const model = tinyCnn();
  const w = selectorWeights(model);
  const x = tf.zeros([4, 64]) as tf.Tensor2D;
  const before = tf.memory().numTensors;
  const { pre, post, masks } = selectorPass(w, x);
  assert.equal(tf.memory().numTensors - before, pre.length + post.length + masks.length, 'only what it returns');
  model.dispose();
});

test('the estimator over a CNN head contains its selector exactly and, fitted on synthetic images, is at least as accurate (within 5 points)', async () => {
  const { train: trainSet, test: testSet } = syntheticImages(11, 600, 300);
  const train = imagesToData(trainSet);
  const held = imagesToData(testSet);
  const model = tinyCnn(7);
  await trainClassifier(model, train, null, {
    epochs: 8,
    batchSize: 32,
    learningRate: 1e-2,
    schedule: { kind: 'constant' },
    optimizer: { name: 'adamw', weightDecay: 0, weightDecayMode: 'decoupled' },
    seed: 7,
    oui: { pairs: 28, every: 0 },
  });
  const w = selectorWeights(model);
  const spec = { valueLayer: 0, gateLayer: 1 };
  const dim = featureDim(w, spec);
  assert.equal(dim, 13 * 7);
  const stats = await accumulateStats(emptyStats(structureId(await modelToParts(model)), spec, dim, 10), w, train);
  assert.equal(stats.count, 600);
  const prior = await selectorPrior(w, spec);
  assert.ok(prior, 'the head’s feature map contains the selector');
  const solution = solveStatistics(stats, null, prior, { ...DEFAULT_SOLVE, lambda: 1e-3, biasFeatures: biasFeatures(w, spec) });
  const u = tf.tensor2d(Float32Array.from(solution.w), [dim, 10]);
  const uSel = tf.tensor2d(Float32Array.from(prior!), [dim, 10]);
  const x = tf.tensor2d(held.x.subarray(0, 50 * held.dim), [50, held.dim]);
  assert.ok(maxAbsDiff(linearLogits(w, spec, uSel, x), selectorLogits(w, x)) < 1e-4, 'φ(x)ᵀU_sel = the CNN selector’s logits');
  const estimator = await accuracyOf(held, (x) => linearLogits(w, spec, u, x));
  const selector = await accuracyOf(held, (x) => selectorLogits(w, x));
  assert.ok(selector > 0.5, `selector accuracy ${selector}`);
  assert.ok(estimator >= selector - 0.05, `estimator ${estimator} vs selector ${selector}`);
  tf.dispose([u, uSel, x]);
  model.dispose();
});

test('the structure id changes when only the trunk’s weights change', async () => {
  const model = tinyCnn();
  const id = structureId(await modelToParts(model));
  const conv = model.getLayer('conv_0');
  const [kernel, bias] = conv.getWeights();
  const x = tf.randomUniform([3, 64], 0, 1, 'float32', 9) as tf.Tensor2D;
  const before = selectorLogits(selectorWeights(model), x);
  conv.setWeights([kernel!.add(0.01), bias!]);
  assert.notEqual(structureId(await modelToParts(model)), id);
  const after = selectorLogits(selectorWeights(model), x);
  assert.ok(maxAbsDiff(before, after) > 0, 'the frozen trunk is part of the selector’s pass');
  model.dispose();
});

test('a model whose head has no hidden dense layer is refused, naming the layer before it', () => {
  const resnet = buildModel({ ...cnnSpec, kind: 'resnet', channels: [4, 8] }, SHAPE, 10, 1);
  assert.throws(
    () => selectorWeights(resnet),
    (e: unknown) => e instanceof InvalidInputError && /hidden layer.*gap \(GlobalAveragePooling2D\).*only the classifier/.test(e.message),
  );
  const headless = buildModel({ ...cnnSpec, dense: [] }, SHAPE, 10, 1);
  assert.throws(
    () => selectorWeights(headless),
    (e: unknown) => e instanceof InvalidInputError && /flatten/.test(e.message),
  );
  resnet.dispose();
  headless.dispose();
});
