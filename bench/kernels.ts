/**
 * `node --import tsx bench/kernels.ts`: micro-benchmark of lightpath's wasm
 * training kernels (ml/backend/wasm-kernels.ts). Prints two tables and writes
 * bench/results/kernels.json. Not a test.
 *
 * 1. Training throughput: samples/s of full training steps (forward, backward,
 *    SGD update; batch 128, random data) of an MLP 784-512-512-10 and a CNN
 *    (conv 3×3 32 → relu → maxpool 2 → conv 3×3 64 → relu → maxpool 2 → dense 10,
 *    on 28×28×1, 'same' padding) on wasm with the stock kernels, on wasm with
 *    lightpath's kernels, on wasm with lightpath's kernels and the native BLAS
 *    provider's matmuls and convolutions (OpenBLAS, where its addon is built),
 *    and on cpu; for the CNN also on wasm with the stock kernels plus only
 *    lightpath's Conv2DBackpropFilter (stock wasm has none).
 * 2. Kernels: milliseconds per call of each replaced or added kernel, stock vs
 *    lightpath's (and the native provider's, for the kernels it replaces),
 *    mostly on the shapes those two models produce (the wasm backend computes
 *    synchronously, so the call alone is timed).
 * 3. Optimizer updates: milliseconds per update of the MLP's variables by
 *    lightpath's AdamW and SGD-momentum (ml/train/optimizer.ts), as the op chain
 *    and as the native provider's fused kernel.
 *
 * Every throughput measurement runs in a fresh child process.
 *
 * Options: --steps N (timed steps per configuration after one warm-up step,
 * default 20; fewer once 30 s have passed, at least 3, or 1 when a step takes
 * over 10 s, as cpu's CNN step does), --profile (per-kernel time of one MLP
 * and one CNN step on wasm with lightpath's kernels).
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { registerWasmTrainingKernels, restoreStockWasmKernels, WASM_TRAINING_KERNELS } from '../ml/backend/wasm-kernels.js';
import { stockConfig } from '../ml/backend/wasm-kernels/common.js';
import { NATIVE_KERNELS, registerNativeKernels, unregisterNativeKernels } from '../ml/backend/native-kernels.js';
import { nativeBlas } from '../ml/backend/native/addon.js';
import { ADAMW_UPDATE, RELU_GRAD, SGD_UPDATE } from '../ml/backend/fused-ops.js';
import { Optimizer, type OptimizerSpec } from '../ml/train/optimizer.js';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '20' },
    profile: { type: 'boolean', default: false },
    child: { type: 'string' },
  },
});
const STEPS = Math.max(3, Number(args.steps));
const BATCH = 128;
const STEP_BUDGET_MS = 30_000;
const SLOW_STEP_MS = 10_000;

type ModelName = 'mlp' | 'cnn';
type Config = 'wasm (stock kernels)' | 'wasm (stock + lightpath Conv2DBackpropFilter)' | 'wasm (lightpath kernels)' | 'wasm (lightpath kernels + OpenBLAS)' | 'cpu';

function buildModel(kind: ModelName): tf.Sequential {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const m = tf.sequential();
  if (kind === 'mlp') {
    m.add(tf.layers.dense({ units: 512, activation: 'relu', inputShape: [784], kernelInitializer: init(1) }));
    m.add(tf.layers.dense({ units: 512, activation: 'relu', kernelInitializer: init(2) }));
    m.add(tf.layers.dense({ units: 10, kernelInitializer: init(3) }));
  } else {
    m.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [28, 28, 1], kernelInitializer: init(1) }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2) }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 10, kernelInitializer: init(3) }));
  }
  return m;
}

function batch(kind: ModelName): { x: tf.Tensor; y: tf.Tensor } {
  return tf.tidy(() => {
    const x = tf.randomUniform(kind === 'mlp' ? [BATCH, 784] : [BATCH, 28, 28, 1], 0, 1, 'float32', 7);
    const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32', 8) as tf.Tensor1D, 10);
    return { x, y };
  });
}

/** One training step; resolves when its loss has been read back. */
async function step(model: tf.Sequential, opt: tf.Optimizer, x: tf.Tensor, y: tf.Tensor): Promise<void> {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const loss = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, vars);
    opt.applyGradients(grads);
    return value;
  });
  await loss.data();
  loss.dispose();
}

interface Throughput {
  model: ModelName;
  config: Config;
  samplesPerSecond: number | null;
  msPerStep: number | null;
  steps: number;
  error?: string;
}

async function throughput(kind: ModelName, config: Config): Promise<Throughput> {
  const model = buildModel(kind);
  const opt = tf.train.sgd(0.01);
  const { x, y } = batch(kind);
  try {
    const w0 = performance.now();
    await step(model, opt, x, y);
    const slow = performance.now() - w0 > SLOW_STEP_MS;
    const times: number[] = [];
    const start = performance.now();
    while (times.length < STEPS && (times.length < (slow ? 1 : 3) || performance.now() - start < STEP_BUDGET_MS)) {
      const t0 = performance.now();
      await step(model, opt, x, y);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    return { model: kind, config, samplesPerSecond: (BATCH * 1000) / median, msPerStep: median, steps: times.length };
  } catch (e) {
    return { model: kind, config, samplesPerSecond: null, msPerStep: null, steps: 0, error: (e as Error).message.split('\n')[0]! };
  } finally {
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  }
}

interface KernelCase {
  name: string;
  kernel: string;
  inputs: () => Record<string, tf.Tensor>;
  attrs: tf.NamedAttrMap;
}

const r = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

const KERNEL_CASES: KernelCase[] = [
  { name: 'MLP dx = dy·Wᵀ [128,512]·[512,512]ᵀ', kernel: 'BatchMatMul', inputs: () => ({ a: r([128, 512], 1), b: r([512, 512], 2) }), attrs: { transposeA: false, transposeB: true } },
  { name: 'MLP dW = xᵀ·dy [128,784]ᵀ·[128,512]', kernel: 'BatchMatMul', inputs: () => ({ a: r([128, 784], 1), b: r([128, 512], 2) }), attrs: { transposeA: true, transposeB: false } },
  { name: 'batched [8,128,64]·[8,128,64]ᵀ', kernel: 'BatchMatMul', inputs: () => ({ a: r([8, 128, 64], 1), b: r([8, 128, 64], 2) }), attrs: { transposeA: false, transposeB: true } },
  {
    name: 'CNN conv1 dW [128,28,28,1]→3×3×1×32',
    kernel: 'Conv2DBackpropFilter',
    inputs: () => ({ x: r([128, 28, 28, 1], 1), dy: r([128, 28, 28, 32], 2) }),
    attrs: { filterShape: [3, 3, 1, 32], strides: 1, pad: 'same', dataFormat: 'NHWC' },
  },
  {
    name: 'CNN conv2 dW [128,14,14,32]→3×3×32×64',
    kernel: 'Conv2DBackpropFilter',
    inputs: () => ({ x: r([128, 14, 14, 32], 1), dy: r([128, 14, 14, 64], 2) }),
    attrs: { filterShape: [3, 3, 32, 64], strides: 1, pad: 'same', dataFormat: 'NHWC' },
  },
  {
    name: 'CNN conv2 dx [128,14,14,64]→[128,14,14,32]',
    kernel: 'Conv2DBackpropInput',
    inputs: () => ({ dy: r([128, 14, 14, 64], 1), filter: r([3, 3, 32, 64], 2) }),
    attrs: { inputShape: [128, 14, 14, 32], strides: 1, pad: 'same', dataFormat: 'NHWC' },
  },
  {
    name: 'stride 2 dx [128,7,7,64]→[128,14,14,32]',
    kernel: 'Conv2DBackpropInput',
    inputs: () => ({ dy: r([128, 7, 7, 64], 1), filter: r([3, 3, 32, 64], 2) }),
    attrs: { inputShape: [128, 14, 14, 32], strides: 2, pad: 'same', dataFormat: 'NHWC' },
  },
  {
    name: 'CNN pool1 grad [128,28,28,32]',
    kernel: 'MaxPoolGrad',
    inputs: () => {
      const input = r([128, 28, 28, 32], 1);
      return { dy: r([128, 14, 14, 32], 2), input, output: tf.maxPool(input as tf.Tensor4D, 2, 2, 'valid') };
    },
    attrs: { filterSize: 2, strides: 2, pad: 'valid' },
  },
  {
    name: 'depthwise dW [128,14,14,32] 3×3×32×1',
    kernel: 'DepthwiseConv2dNativeBackpropFilter',
    inputs: () => ({ x: r([128, 14, 14, 32], 1), dy: r([128, 14, 14, 32], 2) }),
    attrs: { filterShape: [3, 3, 32, 1], strides: 1, pad: 'same', dilations: 1 },
  },
  {
    name: 'depthwise dx [128,14,14,32] 3×3×32×1',
    kernel: 'DepthwiseConv2dNativeBackpropInput',
    inputs: () => ({ dy: r([128, 14, 14, 32], 1), filter: r([3, 3, 32, 1], 2) }),
    attrs: { inputShape: [128, 14, 14, 32], strides: 1, pad: 'same', dilations: 1 },
  },
  {
    name: 'CNN conv1 bias grad [128,28,28,32] over [0,1,2]',
    kernel: 'Sum',
    inputs: () => ({ x: r([128, 28, 28, 32], 1) }),
    attrs: { axis: [0, 1, 2], keepDims: false },
  },
  { name: 'clone [128,28,28,32] (custom-gradient saves)', kernel: 'Identity', inputs: () => ({ x: r([128, 28, 28, 32], 1) }), attrs: {} },
  { name: 'CNN pool1 [128,28,28,32]', kernel: 'MaxPool', inputs: () => ({ x: r([128, 28, 28, 32], 1) }), attrs: { filterSize: 2, strides: 2, pad: 'valid' } },
  { name: 'CNN conv1 bias [128,28,28,32] + [32]', kernel: 'Add', inputs: () => ({ a: r([128, 28, 28, 32], 1), b: r([32], 2) }), attrs: {} },
  { name: 'CNN conv1 relu [128,28,28,32]', kernel: 'Relu', inputs: () => ({ x: r([128, 28, 28, 32], 1) }), attrs: {} },
  { name: 'CNN conv1 relu grad [128,28,28,32] (fused)', kernel: RELU_GRAD, inputs: () => ({ dy: r([128, 28, 28, 32], 1), x: r([128, 28, 28, 32], 2) }), attrs: {} },
  {
    name: 'gather grad 4096 rows → [10000,64]',
    kernel: 'UnsortedSegmentSum',
    inputs: () => ({ x: r([4096, 64], 1), segmentIds: tf.randomUniform([4096], 0, 10000, 'int32', 2) }),
    attrs: { numSegments: 10000 },
  },
];

interface KernelTiming {
  name: string;
  kernel: string;
  stockMs: number | null;
  lightpathMs: number;
  /** With the native BLAS provider, for the kernels it replaces (null where its addon is not built). */
  nativeMs?: number | null;
}

async function timeKernel(c: KernelCase): Promise<number | null> {
  const inputs = c.inputs();
  try {
    const run = () => tf.engine().runKernel(c.kernel, inputs as tf.NamedTensorMap, c.attrs) as tf.Tensor;
    const first = run();
    await first.data();
    first.dispose();
    const times: number[] = [];
    const start = performance.now();
    while (times.length < 10 && (times.length < 3 || performance.now() - start < 5_000)) {
      const t0 = performance.now();
      const out = run();
      times.push(performance.now() - t0);
      await out.data();
      out.dispose();
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  } catch {
    return null;
  } finally {
    tf.dispose(Object.values(inputs));
  }
}

async function profileStep(kind: ModelName): Promise<void> {
  const model = buildModel(kind);
  const opt = tf.train.sgd(0.01);
  const { x, y } = batch(kind);
  await step(model, opt, x, y);
  const info = await tf.profile(() => step(model, opt, x, y));
  const total = new Map<string, number>();
  for (const k of info.kernels) total.set(k.name, (total.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  const rows = [...total].sort((a, b) => b[1] - a[1]).slice(0, 15);
  console.log(`\nProfile of one ${kind.toUpperCase()} step on wasm with lightpath's kernels (ms per kernel, top 15):`);
  for (const [name, ms] of rows) console.log(`  ${name.padEnd(36)} ${ms.toFixed(2)}`);
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
}

/** The MLP's variable shapes. */
const MLP_SHAPES = [[784, 512], [512], [512, 512], [512], [512, 10], [10]];

/** Milliseconds per `Optimizer.apply` of `spec` over the MLP's variables (median of up to 20), with whatever update kernels are registered. */
async function timeUpdate(spec: OptimizerSpec): Promise<number> {
  const vars = MLP_SHAPES.map((s, k) => tf.variable(r(s, k + 1)));
  const grads = MLP_SHAPES.map((s, k) => r(s, k + 10));
  const opt = new Optimizer(spec);
  const times: number[] = [];
  for (let i = 0; i < 21; i++) {
    const t0 = performance.now();
    opt.apply(vars, grads, 1e-3);
    await vars[0]!.data();
    if (i > 0) times.push(performance.now() - t0);
  }
  opt.dispose();
  tf.dispose([...vars, ...grads]);
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

interface UpdateTiming {
  optimizer: string;
  chainMs: number;
  fusedMs: number | null;
}

/** Section 3: each optimizer as the op chain (update kernels unregistered) and fused (where the native provider is active). */
async function timeUpdates(): Promise<UpdateTiming[]> {
  const specs: OptimizerSpec[] = [
    { name: 'adamw', weightDecay: 1e-4, weightDecayMode: 'decoupled' },
    { name: 'sgd', weightDecay: 1e-4, weightDecayMode: 'coupled', momentum: 0.9 },
  ];
  const out: UpdateTiming[] = [];
  for (const spec of specs) {
    unregisterNativeKernels();
    const chainMs = await timeUpdate(spec);
    const fusedMs = registerNativeKernels().active ? await timeUpdate(spec) : null;
    unregisterNativeKernels();
    out.push({ optimizer: `${spec.name} (${spec.weightDecayMode} decay)`, chainMs, fusedMs });
  }
  return out;
}

function fmt(v: number | null, digits = 0): string {
  return v == null ? 'n/a' : v.toFixed(digits);
}

const CONFIGS: Config[] = ['wasm (stock kernels)', 'wasm (stock + lightpath Conv2DBackpropFilter)', 'wasm (lightpath kernels)', 'wasm (lightpath kernels + OpenBLAS)', 'cpu'];

/** Puts the stock kernels back except Conv2DBackpropFilter, without which stock wasm cannot train a CNN. */
function onlyFilterGradient(): void {
  for (const name of WASM_TRAINING_KERNELS) {
    const stock = stockConfig(name);
    if (name === tf.Conv2DBackpropFilter || !stock) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(stock);
  }
}

/** Measures one model on one configuration in this process (the `--child` mode). */
async function child(spec: string): Promise<void> {
  const [kind, index] = spec.split(':') as [ModelName, string];
  const config = CONFIGS[Number(index)]!;
  if (config === 'cpu') await tf.setBackend('cpu');
  else {
    await tf.setBackend('wasm');
    if (config !== 'wasm (stock kernels)') registerWasmTrainingKernels();
    if (config === 'wasm (stock + lightpath Conv2DBackpropFilter)') onlyFilterGradient();
    if (config === 'wasm (lightpath kernels + OpenBLAS)' && !registerNativeKernels().active) {
      const failed: Throughput = { model: kind, config, samplesPerSecond: null, msPerStep: null, steps: 0, error: `no native BLAS provider: ${nativeBlas().detail}` };
      process.stdout.write(`\n@@${JSON.stringify(failed)}\n`);
      return;
    }
  }
  process.stdout.write(`\n@@${JSON.stringify(await throughput(kind, config))}\n`);
}

/** Runs one measurement in a fresh process, so no configuration inherits another's heap or JIT state. */
function measureInChild(kind: ModelName, config: Config): Throughput {
  const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--steps', String(STEPS), '--child', `${kind}:${CONFIGS.indexOf(config)}`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 1 << 26,
  });
  const line = out.split('\n').find((l) => l.startsWith('@@'));
  if (!line) throw new Error(`no result from the ${kind} / ${config} measurement`);
  return JSON.parse(line.slice(2)) as Throughput;
}

async function main(): Promise<void> {
  const results: Throughput[] = [];
  for (const kind of ['mlp', 'cnn'] as const) {
    for (const config of CONFIGS) {
      if (kind === 'mlp' && config === 'wasm (stock + lightpath Conv2DBackpropFilter)') continue;
      const t = measureInChild(kind, config);
      console.log(`  ${kind} on ${config}: ${t.samplesPerSecond == null ? t.error : `${t.samplesPerSecond.toFixed(0)} samples/s`}`);
      results.push(t);
    }
  }

  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialize');
  registerWasmTrainingKernels();
  const kernels: KernelTiming[] = [];
  for (const c of KERNEL_CASES) {
    restoreStockWasmKernels();
    const stockMs = await timeKernel(c);
    registerWasmTrainingKernels();
    const lightpathMs = (await timeKernel(c))!;
    const native = NATIVE_KERNELS.includes(c.kernel) && registerNativeKernels().active;
    const nativeMs = native ? await timeKernel(c) : null;
    unregisterNativeKernels();
    kernels.push({ name: c.name, kernel: c.kernel, stockMs, lightpathMs, ...(NATIVE_KERNELS.includes(c.kernel) ? { nativeMs } : {}) });
  }

  console.log(`\nTraining throughput, batch ${BATCH} (samples/s, median step; steps timed in parentheses):\n`);
  console.log(`| model | ${CONFIGS.join(' | ')} | speed-up vs stock wasm |`);
  console.log(`| --- |${CONFIGS.map(() => ' ---: |').join('')} ---: |`);
  for (const kind of ['mlp', 'cnn'] as const) {
    const get = (c: Config) => results.find((t) => t.model === kind && t.config === c);
    const cell = (t: Throughput | undefined) => (t == null ? '—' : t.samplesPerSecond == null ? `fails: ${t.error}` : `${fmt(t.samplesPerSecond, t.samplesPerSecond < 10 ? 1 : 0)} (${t.steps})`);
    const stock = get('wasm (stock kernels)')?.samplesPerSecond;
    const ours = get('wasm (lightpath kernels)')?.samplesPerSecond;
    const speedup = stock && ours ? `${(ours / stock).toFixed(1)}×` : 'n/a';
    const name = kind === 'mlp' ? 'MLP 784-512-512-10' : 'CNN conv32-pool-conv64-pool-dense10';
    console.log(`| ${name} | ${CONFIGS.map((c) => cell(get(c))).join(' | ')} | ${speedup} |`);
  }

  console.log('\nKernels (ms per call, median):\n');
  console.log('| case | kernel | stock wasm | lightpath | speed-up | native OpenBLAS |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const k of kernels) {
    const speedup = k.stockMs == null ? 'was missing' : `${(k.stockMs / k.lightpathMs).toFixed(1)}×`;
    const native = k.nativeMs === undefined ? '—' : fmt(k.nativeMs, 2);
    console.log(`| ${k.name} | ${k.kernel} | ${k.stockMs == null ? 'not registered' : fmt(k.stockMs, 2)} | ${fmt(k.lightpathMs, 2)} | ${speedup} | ${native} |`);
  }

  const updates = await timeUpdates();
  console.log(`\nOptimizer update of the MLP's ${MLP_SHAPES.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0)} parameters (ms, median):\n`);
  console.log(`| optimizer | op chain | fused (${ADAMW_UPDATE} / ${SGD_UPDATE}) |`);
  console.log('| --- | ---: | ---: |');
  for (const u of updates) console.log(`| ${u.optimizer} | ${fmt(u.chainMs, 2)} | ${fmt(u.fusedMs, 2)} |`);

  if (args.profile) {
    await profileStep('mlp');
    await profileStep('cnn');
  }

  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'kernels.json');
  mkdirSync(dirname(out), { recursive: true });
  const env = {
    node: process.version,
    tfjs: tf.version.tfjs,
    wasmThreads: getThreadsCount(),
    nativeBlas: nativeBlas().detail,
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    batch: BATCH,
    date: new Date().toISOString(),
  };
  writeFileSync(out, JSON.stringify({ env, throughput: results, kernels, updates }, null, 2) + '\n');
  console.log(`\nwrote ${out}`);
}

if (args.child) await child(args.child);
else await main();
