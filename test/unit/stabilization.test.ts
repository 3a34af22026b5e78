/** Structure vs weight stabilization (METHODS.md §3): tracking on a probe set, early structure freeze, exact resume. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend } from '../../ml/backend/select.js';
import { buildMlp } from '../../ml/models/mlp.js';
import { trainClassifier, TrainingStopped, type TrainCheckpoint, type TrainOptions } from '../../ml/train/trainer.js';
import { StabilityTracker, DEFAULT_STABILITY } from '../../ml/glai/stabilization.js';
import { settledEpoch } from '../../ml/glai/settled.js';
import { clusters, rows } from '../helpers/synthetic.js';

before(async () => {
  await selectBackend();
});

const all = clusters(700, 20, 3, 5);
const data = rows(all, 0, 600);
const opts: TrainOptions = {
  epochs: 6,
  batchSize: 32,
  learningRate: 1e-2,
  schedule: { kind: 'constant', warmupSteps: 0 },
  optimizer: { name: 'adamw', weightDecay: 1e-4, weightDecayMode: 'decoupled' },
  seed: 9,
  oui: { pairs: 28, every: 2 },
  stability: { ...DEFAULT_STABILITY, probe: 200 },
};
const mlp = () => buildMlp({ inputDim: 20, hidden: [32, 16], classes: 3, initializer: 'sinusoidal', seed: 2 });

test('settledEpoch: first epoch from which the series stays under the threshold', () => {
  assert.equal(settledEpoch([0.5, 0.005, 0.02, 0.004, 0.003], 0.01), 4);
  assert.equal(settledEpoch([0.005, 0.004], 0.01), 1);
  assert.equal(settledEpoch([0.5, 0.02], 0.01), null);
  assert.equal(settledEpoch([0.005, undefined], 0.01), null, 'an epoch without a measurement does not count as settled');
});

test('an unchanged model has zero pattern and weight change; a perturbed one flips patterns', async () => {
  const model = mlp();
  const tracker = new StabilityTracker(data, [20], { ...DEFAULT_STABILITY, probe: 100 }, 1);
  const weights = async () => Promise.all(model.weights.map(async (v) => (await v.read().data()) as Float32Array));
  await tracker.reset(model, await weights());
  assert.deepEqual(await tracker.step(model, await weights()), { patternChange: 0, weightChange: 0 });
  const w = model.getWeights();
  model.setWeights(w.map((t, k) => (k === 1 ? t.add(0.5) : t)));
  const s = await tracker.step(model, await weights());
  assert.ok(s.patternChange > 0.05, `pattern change ${s.patternChange}`);
  assert.ok(s.weightChange > 0, `weight change ${s.weightChange}`);
  tracker.dispose();
  model.dispose();
});

test('every epoch records pattern and weight change; training converges so both shrink', async () => {
  const model = mlp();
  const h = (await trainClassifier(model, data, null, opts)).history;
  assert.equal(h.length, 6);
  for (const e of h) {
    assert.ok(e.patternChange! >= 0 && e.patternChange! <= 1, `pattern change ${e.patternChange}`);
    assert.ok(e.weightChange! > 0, `weight change ${e.weightChange}`);
  }
  assert.ok(h[5]!.patternChange! < h[0]!.patternChange!, `patterns ${h[0]!.patternChange} → ${h[5]!.patternChange}`);
  model.dispose();
});

test('freezeAfter stops training once patterns stayed under the threshold that many epochs', async () => {
  const model = mlp();
  const final = await trainClassifier(model, data, null, { ...opts, stability: { ...opts.stability!, threshold: 0.5, freezeAfter: 2 } });
  assert.equal(final.epoch, 2, 'both first epochs flip fewer than half the bits: frozen after epoch 2 of 6');
  assert.equal(final.history.length, 2);
  model.dispose();
});

test('resuming continues the stabilization series exactly', async () => {
  const straight = await trainClassifier(mlp(), data, null, opts);
  let at3: TrainCheckpoint | null = null;
  await assert.rejects(trainClassifier(mlp(), data, null, opts, { onEpoch: (_m, c) => void (c.epoch === 3 && (at3 = c)), shouldStop: () => at3 !== null }), TrainingStopped);
  const resumed = await trainClassifier(mlp(), data, null, opts, { resumeFrom: at3! });
  assert.deepEqual(
    resumed.history.map((e) => [e.patternChange, e.weightChange]),
    straight.history.map((e) => [e.patternChange, e.weightChange]),
  );
});
