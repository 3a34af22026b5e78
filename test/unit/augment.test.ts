/**
 * Seeded image augmentation (random crop with padding, horizontal flip): what one draw
 * does to an image, that it is off unless asked, and that training with it is seeded and
 * resumes bit-identically from an epoch checkpoint (its generator's state is in the checkpoint).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend } from '../../ml/backend/select.js';
import { augmentBatch, augments } from '../../ml/data/augment.js';
import { Rng } from '../../ml/rng.js';
import { buildModel } from '../../ml/models/build.js';
import { trainClassifier, TrainingStopped, type TrainCheckpoint, type TrainOptions } from '../../ml/train/trainer.js';
import { parsePipelineConfig } from '../../contracts/config.js';
import type { LabelledData } from '../../ml/train/data.js';

before(async () => {
  await selectBackend();
});

/** A 3×4×2 image whose value at (y, x, c) is 1 + 100y + 10x + c. */
const img = () => Float32Array.from({ length: 24 }, (_, i) => 1 + 100 * Math.floor(i / 8) + 10 * Math.floor((i % 8) / 2) + (i % 2));
const at = (a: Float32Array, y: number, x: number, c: number) => a[(y * 4 + x) * 2 + c]!;

test('each image is flipped, or shifted with zero fill, as its draws say; the same seed draws the same', () => {
  const n = 64;
  const x = new Float32Array(n * 24);
  for (let s = 0; s < n; s++) x.set(img(), s * 24);
  const y = x.slice();
  augmentBatch(x, n, [3, 4, 2], { pad: 1, flip: true }, Rng.fromSeed(5));
  augmentBatch(y, n, [3, 4, 2], { pad: 1, flip: true }, Rng.fromSeed(5));
  assert.deepEqual(x, y, 'seeded');
  const r = Rng.fromSeed(5);
  const kinds = new Set<string>();
  for (let s = 0; s < n; s++) {
    const dy = r.int(3) - 1;
    const dx = r.int(3) - 1;
    const flip = r.next() < 0.5;
    kinds.add(`${dy},${dx},${flip}`);
    const got = x.subarray(s * 24, (s + 1) * 24);
    const src = img();
    for (let yy = 0; yy < 3; yy++)
      for (let xx = 0; xx < 4; xx++)
        for (let c = 0; c < 2; c++) {
          const sy = yy + dy;
          const sx = (flip ? 3 - xx : xx) + dx;
          const want = sy < 0 || sy >= 3 || sx < 0 || sx >= 4 ? 0 : at(src, sy, sx, c);
          assert.equal(at(got, yy, xx, c), want, `image ${s} (${dy}, ${dx}, flip ${flip}) at ${yy},${xx},${c}`);
        }
  }
  assert.ok(kinds.size >= 12, `draws cover shifts and flips: ${kinds.size} of 18`);
});

test('off by default in the config; pad 0 without flip is no augmentation', () => {
  const c = parsePipelineConfig({}, 'config');
  assert.deepEqual(c.train.augment, { pad: 0, flip: false });
  assert.equal(augments(c.train.augment), false);
  assert.equal(augments({ pad: 0, flip: true }), true);
  assert.throws(() => parsePipelineConfig({ train: { augment: { pad: -1 } } }, 'config'), /augment/);
});

/** 8×8 grey images, 2 classes: bright left or right half, plus noise. */
function halves(count: number, seed: number): LabelledData {
  const r = Rng.fromSeed(seed);
  const x = new Float32Array(count * 64);
  const y = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    y[n] = n % 2;
    for (let p = 0; p < 64; p++) x[n * 64 + p] = (p % 8 < 4 === (y[n] === 0) ? 0.8 : 0.1) + 0.2 * r.next();
  }
  return { x, y, count, dim: 64, classes: 2 };
}

const data = halves(192, 1);
const val = halves(64, 2);
const opts: TrainOptions = {
  epochs: 3,
  batchSize: 32,
  learningRate: 1e-2,
  schedule: { kind: 'constant', warmupSteps: 0 },
  optimizer: { name: 'adamw', weightDecay: 1e-4, weightDecayMode: 'decoupled' },
  seed: 7,
  oui: { pairs: 28, every: 1 },
  augment: { pad: 2, flip: true },
};
const cnn = () => buildModel({ kind: 'cnn', hidden: [8], filters: [4], dense: [8], channels: [4], initializer: 'sinusoidal' }, [8, 8, 1], 2, 1);

test('training with augmentation is seeded, differs from training without, and resumes bit-identically', async () => {
  const straight = await trainClassifier(cnn(), data, val, opts);
  const again = await trainClassifier(cnn(), data, val, opts);
  const plain = await trainClassifier(cnn(), data, val, { ...opts, augment: null });
  assert.ok(straight.augmentRng, 'the checkpoint holds the augmentation generator');
  assert.equal(plain.augmentRng, undefined);
  straight.weights.forEach((w, k) => assert.deepEqual(Buffer.from(w.buffer), Buffer.from(again.weights[k]!.buffer), `weight ${k} seeded`));
  assert.ok(
    straight.weights.some((w, k) => !Buffer.from(w.buffer).equals(Buffer.from(plain.weights[k]!.buffer))),
    'augmented batches train other weights',
  );
  for (const e of straight.history) assert.ok(e.oui > 0 && e.oui <= 1, `OUI on the augmented pass ${e.oui}`);

  let at1: TrainCheckpoint | null = null;
  await assert.rejects(
    trainClassifier(cnn(), data, val, opts, {
      onEpoch: (_m, c) => {
        if (c.epoch === 1) at1 = c;
      },
      shouldStop: () => at1 !== null,
    }),
    TrainingStopped,
  );
  const resumed = await trainClassifier(cnn(), data, val, opts, { resumeFrom: at1! });
  resumed.weights.forEach((w, k) => assert.deepEqual(Buffer.from(w.buffer), Buffer.from(straight.weights[k]!.buffer), `weight ${k} after resuming`));
  assert.deepEqual(resumed.augmentRng, straight.augmentRng);
  assert.deepEqual(
    resumed.history.map((e) => [e.loss, e.oui]),
    straight.history.map((e) => [e.loss, e.oui]),
  );
});

test('augmentation of a table model is refused naming the input shape', async () => {
  const model = buildModel({ kind: 'mlp', hidden: [8], filters: [4], dense: [8], channels: [4], initializer: 'sinusoidal' }, [64], 2, 1);
  await assert.rejects(trainClassifier(model, data, val, opts), /augmentation \(random crop, flip\) applies to images; this model's input has shape 64/);
});
