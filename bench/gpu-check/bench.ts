/**
 * The GPU throughput check that bench/gpu-check/build.ts bundles into one JS
 * file: trains the MLP 784-512-512-10 and the small CNN (conv 32 → pool → conv
 * 64 → pool → dense 128 → 10, bench/run.ts's models) on random data on the
 * webgpu backend and prints the adapter and samples/s per model as JSON lines.
 * Args: --steps N (timed steps per model, default 50; the CNN runs N/5, at least
 * 5), --batch B (default 128), --allow-software-gpu, --gpu <n>.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { loadWebGpu } from '../../ml/backend/webgpu.js';
import { buildModel, type ModelSpec } from '../../ml/models/build.js';

const { values: args } = parseArgs({
  options: { steps: { type: 'string', default: '50' }, batch: { type: 'string', default: '128' }, 'allow-software-gpu': { type: 'boolean' }, gpu: { type: 'string' } },
});
const steps = Number(args.steps);
const batch = Number(args.batch);
const WARMUP = 3;

const MODELS: [string, ModelSpec, number][] = [
  ['mlp', { kind: 'mlp', hidden: [512, 512], filters: [], dense: [], channels: [], initializer: 'glorotUniform' }, steps],
  ['cnn', { kind: 'cnn', hidden: [], filters: [32, 64], dense: [128], channels: [], initializer: 'glorotUniform' }, Math.max(5, Math.floor(steps / 5))],
];

/** Samples/s of Adam training steps of `spec` on random data (each step's loss read back, asynchronously). */
async function throughput(spec: ModelSpec, timed: number): Promise<number> {
  const model = buildModel(spec, [28, 28, 1], 10, 1);
  const opt = tf.train.adam(1e-3);
  const x = tf.randomUniform(spec.kind === 'mlp' ? [batch, 784] : [batch, 28, 28, 1]);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32') as tf.Tensor1D, 10);
  const step = async () => {
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
    await loss.data();
    loss.dispose();
  };
  for (let i = 0; i < WARMUP; i++) await step();
  const t0 = performance.now();
  for (let i = 0; i < timed; i++) await step();
  const rate = (batch * timed) / ((performance.now() - t0) / 1000);
  tf.dispose([x, y]);
  model.dispose();
  opt.dispose();
  return rate;
}

const adapter = await loadWebGpu({ allowSoftware: args['allow-software-gpu'] === true, adapter: args.gpu === undefined ? undefined : Number(args.gpu) });
console.log(JSON.stringify({ backend: 'webgpu', adapter, batch }));
for (const [name, spec, timed] of MODELS) {
  console.log(JSON.stringify({ backend: 'webgpu', model: name, batch, steps: timed, samplesPerSecond: Math.round(await throughput(spec, timed)) }));
}
process.exit(0);
