/**
 * `npm run bench`: lightpath's CPU training benchmark. Prints tables and writes
 * bench/results/bench.json (+ init-comparison.svg). Not a test.
 *
 * 1. Training throughput (samples/s of the production training loop, batch 128) of
 *    the MLP 784-512-512-10 and the small CNN on every backend that loads here, with
 *    peak memory, on one BLAS thread. Where the native BLAS provider is active
 *    (`wasm+openblas`), wasm also runs without it, for comparison. Fast backends
 *    report the median of four runs.
 * 1b. lightpath vs PyTorch (bench/torch_ref.py, when python3 has torch, or
 *    `LIGHTPATH_TORCH_PYTHON`, or ~/.cache/lightpath/torch-venv): the same models,
 *    batch and optimizer (AdamW and SGD with momentum), taking turns five times
 *    (medians compared, so a change of load hits both), on one thread and on all
 *    cores, with the CPU model, the OpenBLAS core in use, the library of the products
 *    (oneDNN or OpenBLAS) and the load average. The ratio compares like with like:
 *    one epoch of lightpath's trainer against one epoch of PyTorch's over the same
 *    number of shuffled batches, each side summing loss and correct count, both in
 *    steady state: PyTorch after 5 warm-up steps of a new model, lightpath from the
 *    end of the epoch's 5th batch (its end-of-epoch checkpoint included). PyTorch's
 *    step loop on one fixed batch, with nothing read back, is shown beside it.
 * 2. OUI overhead: the same epochs with OUI measured every 10th batch vs off.
 * 3. Initialization comparison on Fashion-MNIST: sinusoidal (paper-exact and
 *    full-rank) vs Glorot vs He on the MLP and the CNN, max validation accuracy and
 *    AUC (METHODS.md §1), two trainings at a time in worker threads.
 *
 * Options: --quick (short runs), --epochs N (init comparison, default 20),
 * --cnn-train N (CNN comparison training subset, default all), --skip-init, --skip-torch,
 * --skip-backends (sections 1 and 2: only the comparison with PyTorch and the init comparison).
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, homedir, loadavg } from 'node:os';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { selectBackend } from '../ml/backend/select.js';
import { registerNativeKernels, unregisterNativeKernels } from '../ml/backend/native-kernels.js';
import { buildModel, type ModelSpec } from '../ml/models/build.js';
import { trainClassifier, type TrainOptions } from '../ml/train/trainer.js';
import { trainInThread } from '../ml/train/run-in-thread.js';
import { modelToParts } from '../ml/models/io.js';
import { loadFashionMnist, type ImageSet } from '../ml/data/fashion-mnist.js';
import { seededSplit } from '../ml/data/images.js';
import type { RawSplit } from '../ml/train/thread-protocol.js';
import type { LabelledData } from '../ml/train/data.js';
import type { InitializerName } from '../ml/init/registry.js';
import { Rng } from '../ml/rng.js';
import { nativeBlas } from '../ml/backend/native/addon.js';
import { readCpuInfo } from '../ml/backend/native/core.js';
import type { OptimizerSpec } from '../ml/train/optimizer.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    epochs: { type: 'string', default: '20' },
    'cnn-train': { type: 'string' },
    'skip-init': { type: 'boolean', default: false },
    'skip-torch': { type: 'boolean', default: false },
    'skip-backends': { type: 'boolean', default: false },
  },
});
const quick = args.quick!;
const outDir = join(import.meta.dirname, 'results');
mkdirSync(outDir, { recursive: true });

const MLP: ModelSpec = { kind: 'mlp', hidden: [512, 512], filters: [], dense: [], channels: [], initializer: 'sinusoidal' };
const CNN: ModelSpec = { kind: 'cnn', hidden: [], filters: [32, 64], dense: [128], channels: [], initializer: 'sinusoidal' };
const SHAPE: [number, number, number] = [28, 28, 1];
const BATCH = 128;
/** Batches in the MLP's timed epoch (the CNN's: a fifth), on both sides of the comparison with PyTorch. */
const MLP_BATCHES = quick ? 20 : 100;

/** The optimizers compared with PyTorch, set as bench/torch_ref.py sets them. */
const OPTIMIZERS: Record<'adamw' | 'sgd', { learningRate: number; optimizer: OptimizerSpec }> = {
  adamw: { learningRate: 1e-3, optimizer: { name: 'adamw', weightDecay: 1e-4, weightDecayMode: 'decoupled' } },
  sgd: { learningRate: 1e-2, optimizer: { name: 'sgd', weightDecay: 1e-4, weightDecayMode: 'coupled', momentum: 0.9 } },
};

function baseOptions(epochs: number, ouiEvery: number, opt: keyof typeof OPTIMIZERS = 'adamw'): TrainOptions {
  return {
    epochs,
    batchSize: BATCH,
    ...OPTIMIZERS[opt],
    schedule: { kind: 'constant' },
    seed: 1,
    oui: { pairs: 28, every: ouiEvery },
  };
}

/** Random training sets by size, each made once: a new 40 MB array per timed run would start a garbage collection in it. */
const dataSets = new Map<number, LabelledData>();

/** `count` random samples (the same ones for every run of that size). */
function randomData(count: number): LabelledData {
  const made = dataSets.get(count);
  if (made) return made;
  const rng = Rng.fromSeed(9);
  const x = new Float32Array(count * 784);
  for (let i = 0; i < x.length; i++) x[i] = rng.next();
  const y = Int32Array.from({ length: count }, () => rng.int(10));
  const data = { x, y, count, dim: 784, classes: 10 };
  dataSets.set(count, data);
  return data;
}

/**
 * Batches at the start of a timed epoch left out of its time, as PyTorch's
 * reference warms up 5 steps before it times: a new model's first steps pay for
 * building it (V8 collects the garbage of its initialization then, on the cores
 * the products use), once per training, not per step.
 */
const WARMUP_BATCHES = 5;

/** Samples/s of one epoch of the training loop over `batches` batches (after the warm-up batches, where there are more than twice as many), and peak memory. */
async function loopThroughput(
  spec: ModelSpec,
  batches: number,
  ouiEvery: number,
  opt: keyof typeof OPTIMIZERS = 'adamw',
): Promise<{ samplesPerSecond: number; peakRssMiB: number; peakTensorMiB: number }> {
  const model = buildModel(spec, SHAPE, 10, 1);
  const data = randomData(batches * BATCH);
  const warmup = batches > 2 * WARMUP_BATCHES ? WARMUP_BATCHES : 0;
  let peakRss = 0;
  let peakTensor = 0;
  let t0 = performance.now();
  await trainClassifier(model, data, null, baseOptions(1, ouiEvery, opt), {
    onBatch: (_epoch, batch) => {
      if (batch === warmup) t0 = performance.now();
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      peakTensor = Math.max(peakTensor, tf.memory().numBytes);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  model.dispose();
  return { samplesPerSecond: ((batches - warmup) * BATCH) / seconds, peakRssMiB: peakRss / 2 ** 20, peakTensorMiB: peakTensor / 2 ** 20 };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

async function throughputSection() {
  const rows: { backend: string; model: string; samplesPerSecond: number; peakRssMiB: number; peakTensorMiB: number }[] = [];
  const overhead: { backend: string; model: string; withOui: number; withoutOui: number; overheadPercent: number }[] = [];
  const selected = await selectBackend();
  const tfName = tf.getBackend();
  const native = selected.native?.active === true;
  const use = async (backend: string) => {
    await tf.setBackend(backend === 'cpu' ? 'cpu' : tfName);
    if (backend === 'wasm' && native) unregisterNativeKernels();
    if (backend === 'wasm+openblas') registerNativeKernels();
  };
  const backends = [selected.name, ...(native ? ['wasm'] : []), ...(tfName === 'cpu' ? [] : ['cpu'])];
  for (const backend of backends) {
    await use(backend);
    for (const [name, spec] of [
      ['mlp', MLP],
      ['cnn', CNN],
    ] as const) {
      const slow = backend === 'cpu';
      const batches = slow ? (name === 'cnn' ? 1 : 10) : quick ? (name === 'cnn' ? 4 : 20) : name === 'cnn' ? 40 : 200;
      if (!slow) await loopThroughput(spec, 2, 0);
      const r = await loopThroughput(spec, batches, 10);
      if (!slow) {
        const on: number[] = [r.samplesPerSecond];
        const off: number[] = [];
        for (let rep = 0; rep < (quick ? 1 : 3); rep++) {
          off.push((await loopThroughput(spec, batches, 0)).samplesPerSecond);
          on.push((await loopThroughput(spec, batches, 10)).samplesPerSecond);
        }
        const withOui = median(on);
        const withoutOui = median(off);
        r.samplesPerSecond = withOui;
        overhead.push({ backend, model: name, withOui, withoutOui, overheadPercent: (withoutOui / withOui - 1) * 100 });
      }
      rows.push({ backend, model: name, ...r });
    }
  }
  await use(selected.name);
  return { backend: selected, rows, overhead };
}

/** Sets the native provider's threads per product (a no-op without it). */
function setBlasThreads(n: number): void {
  const s = nativeBlas();
  if (s.active) s.blas.setThreads(n);
}

function torchReference(threads: number, optimizer: keyof typeof OPTIMIZERS = 'adamw'): Record<string, number | string> | null {
  if (args['skip-torch']) return null;
  const candidates = [process.env.LIGHTPATH_TORCH_PYTHON, join(homedir(), '.cache/lightpath/torch-venv/bin/python'), 'python3'].filter((p): p is string => !!p);
  for (const py of candidates) {
    if (py.includes('/') && !existsSync(py)) continue;
    try {
      const out = execFileSync(
        py,
        [join(import.meta.dirname, 'torch_ref.py'), '--threads', String(threads), '--optimizer', optimizer, '--batch', String(BATCH), '--batches', String(MLP_BATCHES), '--steps', quick ? '10' : '50'],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      return { python: py, ...(JSON.parse(out) as Record<string, number | string>) };
    } catch {
      continue;
    }
  }
  return null;
}

/** One row of the comparison with PyTorch. */
interface VsTorch {
  model: string;
  optimizer: string;
  threads: number;
  lightpath: number;
  /** PyTorch's epoch loop (what lightpath's figure measures); the ratio is to it. */
  pytorch: number | null;
  ratio: number | null;
  /** PyTorch's step loop on one fixed batch, and the ratio to it. */
  pytorchStepLoop: number | null;
  ratioStepLoop: number | null;
}

/** lightpath (the selected backend, in this thread) vs PyTorch: both models, both optimizers, one thread and all cores. */
async function vsTorchSection(): Promise<{ cpu: string; cores: number; backend: string; blas: unknown; torch: string | null; rows: VsTorch[]; loadAverage: { before: number; after: number } }> {
  const cores = availableParallelism();
  const loadBefore = loadavg()[0]!;
  const selected = await selectBackend();
  const native = nativeBlas();
  const rows: VsTorch[] = [];
  let torchVersion: string | null = null;
  for (const threads of [...new Set([1, cores])]) {
    setBlasThreads(threads);
    for (const opt of ['adamw', 'sgd'] as const) {
      // PyTorch and lightpath take turns, five rounds (one in --quick), and each side's median counts: a load change hits both.
      const mine: Record<'mlp' | 'cnn', number[]> = { mlp: [], cnn: [] };
      const theirs: Record<'mlp' | 'cnn', number[]> = { mlp: [], cnn: [] };
      const theirSteps: Record<'mlp' | 'cnn', number[]> = { mlp: [], cnn: [] };
      for (let rep = 0; rep < (quick ? 1 : 5); rep++) {
        const torch = torchReference(threads, opt);
        torchVersion ??= (torch?.torch as string | undefined) ?? null;
        for (const [name, spec] of [
          ['mlp', MLP],
          ['cnn', CNN],
        ] as const) {
          if (torch) {
            theirs[name].push(torch[name] as number);
            theirSteps[name].push(torch[`${name}StepLoop`] as number);
          }
          const batches = name === 'cnn' ? MLP_BATCHES / 5 : MLP_BATCHES;
          if (rep === 0) await loopThroughput(spec, 2, 0, opt);
          mine[name].push((await loopThroughput(spec, batches, 10, opt)).samplesPerSecond);
        }
      }
      for (const name of ['mlp', 'cnn'] as const) {
        const lightpath = median(mine[name]);
        const pytorch = theirs[name].length ? median(theirs[name]) : null;
        const pytorchStepLoop = theirSteps[name].length ? median(theirSteps[name]) : null;
        rows.push({
          model: name,
          optimizer: opt,
          threads,
          lightpath,
          pytorch,
          ratio: pytorch ? lightpath / pytorch : null,
          pytorchStepLoop,
          ratioStepLoop: pytorchStepLoop ? lightpath / pytorchStepLoop : null,
        });
      }
    }
  }
  setBlasThreads(1);
  return {
    cpu: readCpuInfo()?.model ?? 'unknown',
    cores,
    backend: selected.name,
    blas: native.active ? { config: native.blas.info().config, core: native.core, products: native.blas.info().products } : { inactive: native.detail },
    torch: torchVersion,
    rows,
    loadAverage: { before: loadBefore, after: loadavg()[0]! },
  };
}

function toRaw(set: ImageSet, rows: ArrayLike<number>): RawSplit {
  const dim = set.height * set.width;
  const images = new Uint8Array(rows.length * dim);
  const labels = new Uint8Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    images.set(set.images.subarray(rows[r]! * dim, (rows[r]! + 1) * dim), r * dim);
    labels[r] = set.labels[rows[r]!]!;
  }
  return { images, labels, count: rows.length, dim, classes: 10 };
}

/** AUC of METHODS.md §1: trapezoid integral of validation accuracy (%) over epochs, / 100. */
function auc(acc: number[]): number {
  let s = 0;
  for (let i = 1; i < acc.length; i++) s += ((acc[i - 1]! + acc[i]!) * 100) / 2;
  return s / 100;
}

async function initSection() {
  const epochs = quick ? 2 : Number(args.epochs);
  const { train } = await loadFashionMnist();
  const split = seededSplit(train.count, 5000, 42);
  const val = toRaw(train, split.val);
  const cnnCount = Math.min(split.train.length, Number(args['cnn-train'] ?? (quick ? 2000 : split.train.length)));
  const inits: InitializerName[] = ['sinusoidal', 'sinusoidalFullRank', 'glorotUniform', 'heNormal'];
  const jobs = (['mlp', 'cnn'] as const).flatMap((model) => inits.map((initializer) => ({ model, initializer })));
  const results: { model: string; initializer: string; trainSamples: number; valAccuracy: number[]; maxValAccuracy: number; auc: number; seconds: number }[] = [];
  const queue = [...jobs];
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const spec = { ...(job.model === 'mlp' ? { ...MLP, hidden: [256, 128] } : CNN), initializer: job.initializer };
      const rows = job.model === 'cnn' ? split.train.subarray(0, cnnCount) : split.train;
      const model = buildModel(spec, SHAPE, 10, 42);
      const parts = await modelToParts(model);
      model.dispose();
      const t0 = performance.now();
      const out = await trainInThread({ model: parts, train: toRaw(train, rows), val, options: { ...baseOptions(epochs, 10), seed: 42 }, resumeFrom: null });
      const acc = out.checkpoint.history.map((h) => h.valAccuracy!);
      const r = {
        model: job.model,
        initializer: job.initializer,
        trainSamples: rows.length,
        valAccuracy: acc,
        maxValAccuracy: Math.max(...acc),
        auc: auc(acc),
        seconds: (performance.now() - t0) / 1000,
      };
      results.push(r);
      console.log(`  ${r.model} ${r.initializer}: max val ${(r.maxValAccuracy * 100).toFixed(2)} %, AUC ${r.auc.toFixed(2)} (${r.seconds.toFixed(0)} s)`);
    }
  };
  await Promise.all([worker(), worker()]);
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Fashion-MNIST validation accuracy by initializer (${epochs} epochs)`,
    data: { values: results.flatMap((r) => r.valAccuracy.map((a, i) => ({ model: r.model, initializer: r.initializer, epoch: i + 1, accuracy: a * 100 }))) },
    facet: { column: { field: 'model', type: 'nominal' } },
    spec: {
      width: 320,
      height: 220,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative' },
        y: { field: 'accuracy', type: 'quantitative', title: 'validation accuracy (%)', scale: { zero: false } },
        color: { field: 'initializer', type: 'nominal' },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
  const svg = await new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' }).toSVG();
  writeFileSync(join(outDir, 'init-comparison.svg'), svg);
  return { epochs, cnnTrainSamples: cnnCount, results };
}

setBlasThreads(1);
const t = args['skip-backends'] ? null : await throughputSection();
if (t) {
  const blasNow = nativeBlas();
  const provider = t.backend.native ? `; native BLAS provider ${blasNow.active ? `active: ${blasNow.blas.info().config}` : `inactive: ${t.backend.native.detail}`}` : '';
  console.log(`\nTraining throughput (batch ${BATCH}, samples/s, one BLAS thread; ${t.backend.name} selected${provider})`);
  console.table(
    t.rows.map((r) => ({ backend: r.backend, model: r.model, 'samples/s': Math.round(r.samplesPerSecond), 'peak RSS MiB': Math.round(r.peakRssMiB), 'peak tensors MiB': Math.round(r.peakTensorMiB) })),
  );
  console.log('OUI overhead (every 10th batch vs off)');
  console.table(
    t.overhead.map((o) => ({ backend: o.backend, model: o.model, 'with OUI': Math.round(o.withOui), 'without OUI': Math.round(o.withoutOui), 'overhead %': o.overheadPercent.toFixed(2) })),
  );
}
const vs = await vsTorchSection();
const blasInfo = vs.blas && typeof vs.blas === 'object' && 'core' in vs.blas ? (vs.blas as { core: { name: string; how: string }; products: string }) : null;
console.log(
  `lightpath (${vs.backend}${blasInfo ? `, OpenBLAS core ${blasInfo.core.name} (${blasInfo.core.how}), products on ${blasInfo.products}` : ''}) vs PyTorch ${vs.torch ?? '(not installed: pip install torch, or set LIGHTPATH_TORCH_PYTHON)'} on ${vs.cpu}, ${vs.cores} cores; samples/s, batch ${BATCH}; 1-minute load average ${vs.loadAverage.before.toFixed(2)} before, ${vs.loadAverage.after.toFixed(2)} after`,
);
console.table(
  vs.rows.map((r) => ({
    model: r.model,
    optimizer: r.optimizer,
    threads: r.threads,
    lightpath: Math.round(r.lightpath),
    pytorch: r.pytorch == null ? '-' : Math.round(r.pytorch),
    ratio: r.ratio == null ? '-' : r.ratio.toFixed(2),
    goal: '≥ 1.0',
    'pytorch step loop': r.pytorchStepLoop == null ? '-' : Math.round(r.pytorchStepLoop),
    'ratio to it': r.ratioStepLoop == null ? '-' : r.ratioStepLoop.toFixed(2),
  })),
);
const init = args['skip-init'] ? null : (console.log('\nInitialization comparison on Fashion-MNIST'), await initSection());
if (init) {
  console.table(
    init.results.map((r) => ({ model: r.model, initializer: r.initializer, 'train samples': r.trainSamples, 'max val acc %': (r.maxValAccuracy * 100).toFixed(2), AUC: r.auc.toFixed(2) })),
  );
  console.log(`plot: ${join(outDir, 'init-comparison.svg')}`);
}
writeFileSync(join(outDir, 'bench.json'), JSON.stringify({ date: new Date().toISOString(), quick, cpu: vs.cpu, cores: vs.cores, blas: vs.blas, throughput: t, vsTorch: vs, init }, null, 2));
console.log(`results: ${join(outDir, 'bench.json')}`);
