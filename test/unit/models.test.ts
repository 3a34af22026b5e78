/**
 * CNN and residual CNN on the default backend: activations are captured for every
 * ReLU, training learns, resuming from a checkpoint is bit-identical, no leaks.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../ml/backend/select.js';
import { buildCnn, buildResnet } from '../../ml/models/cnn.js';
import { forwardCapture } from '../../ml/models/forward.js';
import { modelFromParts, modelToParts } from '../../ml/models/io.js';
import { trainClassifier, TrainingStopped, type TrainCheckpoint, type TrainOptions } from '../../ml/train/trainer.js';
import { clusters, rows } from '../helpers/synthetic.js';

before(async () => {
  await selectBackend();
});

const all = clusters(360, 64, 3, 5);
const data = rows(all, 0, 300);
const val = rows(all, 300, 360);
const opts: TrainOptions = {
  epochs: 3,
  batchSize: 20,
  learningRate: 3e-3,
  schedule: { kind: 'constant' },
  optimizer: { name: 'adamw', weightDecay: 1e-4, weightDecayMode: 'decoupled' },
  seed: 11,
  oui: { pairs: 28, every: 3 },
};
const makers = {
  cnn: () => buildCnn({ inputShape: [8, 8, 1], filters: [4, 8], dense: [16], classes: 3, initializer: 'sinusoidal', seed: 1 }),
  resnet: () => buildResnet({ inputShape: [8, 8, 1], channels: [4, 8], classes: 3, initializer: 'sinusoidalFullRank', seed: 1 }),
};

test('every ReLU output is captured, logits are not', () => {
  const x = tf.randomNormal([5, 8, 8, 1]);
  const cnn = makers.cnn();
  const c = forwardCapture(cnn, x, true);
  assert.deepEqual(
    c.activations.map((a) => a.shape),
    [
      [5, 8, 8, 4],
      [5, 4, 4, 8],
      [5, 16],
    ],
  );
  const res = makers.resnet();
  const r = forwardCapture(res, x, true);
  // stem, block0 a + out, proj1, block1 a + out
  assert.equal(r.activations.length, 6);
  assert.deepEqual(r.output.shape, [5, 3]);
  tf.dispose([x, c.output, ...c.activations, r.output, ...r.activations]);
  cnn.dispose();
  res.dispose();
});

for (const [name, make] of Object.entries(makers)) {
  test(`${name}: learns, resumes bit-identically, leaks no tensors, survives save/load`, async () => {
    const straight = make();
    const counts: number[] = [];
    const full = await trainClassifier(straight, data, val, opts, { onEpoch: () => void counts.push(tf.memory().numTensors) });
    assert.ok(
      counts.every((c) => c === counts[0]),
      `tensor counts ${counts.join(', ')}`,
    );
    assert.ok(full.history.at(-1)!.valAccuracy! > 0.8, `val accuracy ${full.history.at(-1)!.valAccuracy}`);

    const first = make();
    let at1: TrainCheckpoint | null = null;
    await assert.rejects(trainClassifier(first, data, val, opts, { onEpoch: (_m, c) => void (at1 = c), shouldStop: () => at1 !== null }), TrainingStopped);
    const reloaded = await modelFromParts(await modelToParts(make()));
    const resumed = await trainClassifier(reloaded, data, val, opts, { resumeFrom: at1! });
    resumed.weights.forEach((w, k) => assert.deepEqual(Buffer.from(w.buffer), Buffer.from(full.weights[k]!.buffer), `weight ${k}`));
    [straight, first, reloaded].forEach((m) => m.dispose());
  });
}
