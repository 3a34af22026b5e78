/**
 * `npm run bench:oui`: the cost of OUI measurement (METHODS.md §2) on the training
 * step, measured precisely: training steps with and without OUI capture,
 * interleaved one by one in one process (so load changes hit both alike), medians
 * compared. OUI runs on every 10th batch, so its share of training time is a tenth
 * of the per-step difference. Not a test.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../ml/backend/select.js';
import { buildModel, type ModelSpec } from '../ml/models/build.js';
import { forwardCapture } from '../ml/models/forward.js';
import { ouiBatch } from '../ml/oui.js';
import { Optimizer } from '../ml/train/optimizer.js';

const MODELS: [string, ModelSpec, number][] = [
  ['mlp 784-512-512-10', { kind: 'mlp', hidden: [512, 512], filters: [], dense: [], channels: [], initializer: 'sinusoidal' }, 200],
  ['cnn conv32-conv64-dense128', { kind: 'cnn', hidden: [], filters: [32, 64], dense: [128], channels: [], initializer: 'sinusoidal' }, 40],
];
const EVERY = 10;
const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;

const backend = await selectBackend();
console.log(`backend ${backend.name}; batch 128, 28 pairs, OUI every ${EVERY}th batch`);
for (const [name, spec, steps] of MODELS) {
  const model = buildModel(spec, [28, 28, 1], 10, 1);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt = new Optimizer({ name: 'adamw', weightDecay: 1e-4, weightDecayMode: 'decoupled' });
  const x = tf.randomUniform([128, ...(model.inputs[0]!.shape.slice(1) as number[])]);
  const y = tf.oneHot(tf.randomUniform([128], 0, 10, 'int32'), 10);
  const pairs = { i: Array.from({ length: 28 }, (_, k) => 2 * k), j: Array.from({ length: 28 }, (_, k) => 2 * k + 1) };
  const step = async (withOui: boolean): Promise<number> => {
    const t0 = performance.now();
    let oui: tf.Scalar | null = null;
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const { output, activations } = forwardCapture(model, x, true);
        if (withOui) oui = tf.keep(ouiBatch(activations, pairs));
        return tf.losses.softmaxCrossEntropy(y, output) as tf.Scalar;
      }, vars);
      opt.apply(
        vars,
        vars.map((v) => grads[v.name]!),
        1e-3,
      );
    });
    await vars[0]!.data();
    if (oui) {
      await (oui as tf.Scalar).data();
      (oui as tf.Scalar).dispose();
    }
    return performance.now() - t0;
  };
  for (let w = 0; w < 3; w++) await step(w % 2 === 0);
  const off: number[] = [];
  const on: number[] = [];
  for (let s = 0; s < steps; s++) {
    off.push(await step(false));
    on.push(await step(true));
  }
  const base = median(off);
  const extra = median(on) - base;
  console.log(`${name}: step ${base.toFixed(2)} ms; a measured step +${extra.toFixed(2)} ms; OUI every ${EVERY}th batch = ${((extra / EVERY / base) * 100).toFixed(2)} % of training time`);
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
}
