import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../ml/backend/select.js';
import { buildMlp } from '../../ml/models/mlp.js';
import { trainClassifier, TrainingStopped, type TrainCheckpoint, type TrainOptions } from '../../ml/train/trainer.js';
import { clusters, rows } from '../helpers/synthetic.js';

before(async () => {
  await selectBackend();
});

const all = clusters(750, 20, 3, 1);
const data = rows(all, 0, 600);
const val = rows(all, 600, 750);
const opts: TrainOptions = {
  epochs: 4,
  batchSize: 32,
  learningRate: 1e-2,
  schedule: { kind: 'cosine', warmupSteps: 5 },
  optimizer: { name: 'adamw', weightDecay: 1e-3, weightDecayMode: 'decoupled' },
  seed: 3,
  oui: { pairs: 28, every: 2 },
};
const mlp = () => buildMlp({ inputDim: 20, hidden: [32, 16], classes: 3, initializer: 'sinusoidal', seed: 1 });

test('trains: loss falls, accuracy rises, OUI measured every epoch', async () => {
  const model = mlp();
  const final = await trainClassifier(model, data, val, opts);
  const h = final.history;
  assert.equal(h.length, 4);
  assert.ok(h[3]!.loss < h[0]!.loss, `loss ${h[0]!.loss} → ${h[3]!.loss}`);
  assert.ok(h[3]!.valAccuracy! > 0.9, `val accuracy ${h[3]!.valAccuracy}`);
  for (const e of h) assert.ok(e.oui > 0 && e.oui <= 1, `OUI ${e.oui}`);
  model.dispose();
});

test('resuming from an epoch checkpoint gives bit-identical weights (adamw and sgd)', async () => {
  for (const optimizer of [opts.optimizer, { name: 'sgd' as const, weightDecay: 1e-3, weightDecayMode: 'coupled' as const, momentum: 0.9 }]) {
    const o = { ...opts, optimizer };
    const full = mlp();
    const straight = await trainClassifier(full, data, val, o);

    const first = mlp();
    let at2: TrainCheckpoint | null = null;
    await assert.rejects(
      trainClassifier(first, data, val, o, {
        onEpoch: (_m, c) => {
          if (c.epoch === 2) at2 = c;
        },
        shouldStop: () => at2 !== null,
      }),
      TrainingStopped,
    );
    const second = mlp();
    const resumed = await trainClassifier(second, data, val, o, { resumeFrom: at2! });
    assert.equal(resumed.weights.length, straight.weights.length);
    resumed.weights.forEach((w, k) => assert.deepEqual(Buffer.from(w.buffer), Buffer.from(straight.weights[k]!.buffer), `${optimizer.name} weight ${k}`));
    assert.deepEqual(resumed.optimizer.step, straight.optimizer.step);
    assert.deepEqual(
      resumed.history.map((e) => [e.loss, e.oui]),
      straight.history.map((e) => [e.loss, e.oui]),
    );
    [full, first, second].forEach((m) => m.dispose());
  }
});

test('no tensor leaks: the tensor count is the same after every epoch', async () => {
  const model = mlp();
  const counts: number[] = [];
  await trainClassifier(model, data, val, opts, { onEpoch: () => void counts.push(tf.memory().numTensors) });
  assert.equal(counts.length, 4);
  assert.ok(
    counts.every((c) => c === counts[0]),
    `tensor counts ${counts.join(', ')}`,
  );
  model.dispose();
});

test('an AbortSignal stops training within one batch', async () => {
  const model = mlp();
  const ac = new AbortController();
  let batchesAfterAbort = 0;
  await assert.rejects(
    trainClassifier(model, data, val, opts, {
      signal: ac.signal,
      onBatch: (epoch, batch) => {
        if (ac.signal.aborted) batchesAfterAbort++;
        if (epoch === 2 && batch === 3) ac.abort();
      },
    }),
    (e: Error) => e instanceof TrainingStopped && e.epoch === 2,
  );
  assert.equal(batchesAfterAbort, 0);
  model.dispose();
});

test('training in chunks (untilEpoch) chained through checkpoints equals one run', async () => {
  const straight = await trainClassifier(mlp(), data, val, opts);
  let ckpt: TrainCheckpoint | undefined;
  for (const until of [1, 3, 4]) {
    ckpt = await trainClassifier(mlp(), data, val, opts, { resumeFrom: ckpt, untilEpoch: until });
    assert.equal(ckpt.epoch, until);
  }
  ckpt!.weights.forEach((w, k) => assert.deepEqual(Buffer.from(w.buffer), Buffer.from(straight.weights[k]!.buffer), `weight ${k}`));
});
