/**
 * The native BLAS provider (ml/backend/native-kernels.ts) against the cpu
 * backend: BatchMatMul with every transpose combination and batch broadcasting,
 * _FusedMatMul with every bias shape and activation, Conv2D and its gradients,
 * training steps of an MLP and a CNN, trainings in two worker threads at once,
 * and switching it off.
 *
 * Where OpenBLAS's development files and a C compiler are installed the addon
 * must build, load and be selected (and multiply with oneDNN where its development
 * files are installed): these tests then fail rather than skip. Only
 * where they are missing (or LIGHTPATH_NATIVE=0) do they skip, saying why.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendInfo } from '../../ml/backend/select.js';
import { NATIVE_KERNELS, registerNativeKernels, unregisterNativeKernels } from '../../ml/backend/native-kernels.js';
import { stockConfig } from '../../ml/backend/wasm-kernels/common.js';
import { ADAMW_UPDATE, RELU_GRAD, SGD_UPDATE } from '../../ml/backend/fused-ops.js';
import { buildMlp } from '../../ml/models/mlp.js';
import { modelToParts } from '../../ml/models/io.js';
import { trainInThread } from '../../ml/train/run-in-thread.js';
import type { TrainOptions } from '../../ml/train/trainer.js';
import { buildNativeBlas } from '../../scripts/build-native.js';
import { currentThreads } from '../../ml/backend/native/threads.js';
import { oneDnnHeader } from '../../ml/backend/native/addon.js';
import { onPath } from '../../scripts/on-path.js';
import {
  compare,
  compareBroadcastMatMul,
  compareConv2DLayouts,
  compareConv2Ds,
  compareMatMuls,
  input,
  reportWorst,
  smallCnn,
  smallMlp,
  TOLERANCE,
  trainAndCompare,
  valueAndGrads,
} from '../helpers/backend-compare.js';

/** OpenBLAS's cblas.h (it declares openblas_set_num_threads) in the usual include folders, found without the build script's help. */
function openblasHeader(): string | null {
  const roots = ['/usr/include', '/usr/local/include', '/opt/homebrew/opt/openblas/include'];
  const dirs = roots.flatMap((r) => [r, join(r, 'openblas')]);
  for (const sub of existsSync('/usr/include') ? readdirSync('/usr/include', { withFileTypes: true }) : []) {
    if (!sub.isDirectory()) continue;
    const multiarch = join('/usr/include', sub.name);
    for (const inner of readdirSync(multiarch, { withFileTypes: true })) if (inner.isDirectory() && inner.name.startsWith('openblas')) dirs.push(join(multiarch, inner.name));
  }
  return dirs.map((d) => join(d, 'cblas.h')).find((h) => existsSync(h)) ?? null;
}

const header = openblasHeader();
const skip =
  process.env.LIGHTPATH_NATIVE === '0'
    ? 'LIGHTPATH_NATIVE=0'
    : !header
      ? 'OpenBLAS development files are not installed (Debian: apt-get install libopenblas-dev)'
      : !onPath(process.env.CC ?? 'cc')
        ? 'no C compiler on PATH'
        : false;

let info: BackendInfo;

before(async () => {
  if (skip) return;
  const build = buildNativeBlas();
  assert.ok('built' in build, `OpenBLAS is installed (${header}) but the addon did not build: ${'skipped' in build ? build.skipped : ''}`);
  info = await selectBackend('wasm');
});

test('the addon builds where OpenBLAS is installed and the wasm backend selects it, on all cores while nothing else trains, with oneDNN products where it is installed', { skip }, () => {
  assert.equal(info.name, 'wasm+openblas', `native provider not active: ${info.native?.detail}`);
  assert.equal(info.native?.active, true);
  const threads = currentThreads();
  assert.match(info.native!.detail, new RegExp(`OpenBLAS .*, ${threads} threads?$`));
  const products = oneDnnHeader() ? /^oneDNN \d+\.\d+\.\d+$/ : /^OpenBLAS$/;
  assert.match(
    info.native!.detail,
    new RegExp(`float32 products on ${products.source.slice(1, -1)}`),
    `oneDNN ${oneDnnHeader() ? `is installed (${oneDnnHeader()}), so the products must run on it` : 'is not installed'}`,
  );
  for (const name of NATIVE_KERNELS) assert.ok(Symbol.for('lightpath.nativeKernel') in (tf.getKernel(name, 'wasm').kernelFunc as object), `${name} is native`);
});

test('products survive signals: a child profiled with --cpu-prof (SIGPROF every 20 µs) multiplies on 1 and 2 threads and exits cleanly', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lightpath-sigprof-'));
  try {
    for (const threads of ['1', '2']) {
      const child = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '20', '--cpu-prof-dir', dir, '--import', 'tsx', 'test/helpers/products-under-signals.ts', threads], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(child.status, 0, `${threads} thread(s): exit ${child.status} (${child.signal ?? 'no signal'}): ${child.stderr.slice(-400)}`);
      assert.match(child.stdout, /done/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the thread pool keeps the one-thread bits while its helpers are preempted: products and an elementwise pass on 2–4 threads beside two spinning threads', { skip }, () => {
  const child = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/pool-contention.ts', '8'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(child.status, 0, `exit ${child.status} (${child.signal ?? 'no signal'}): ${child.stderr.slice(-400)}`);
  const [, calls, mismatches] = /calls (\d+) mismatches (\d+)/.exec(child.stdout) ?? [];
  assert.ok(Number(calls) > 100, `too few calls ran: ${child.stdout}`);
  assert.equal(Number(mismatches), 0, child.stdout);
});

test('BatchMatMul: every transpose combination and batch dims, with gradients; broadcast batch dims forward', { skip }, async (t) => {
  assert.ok((await compareMatMuls()) <= TOLERANCE);
  assert.ok((await compareBroadcastMatMul()) <= TOLERANCE);
  reportWorst(t);
});

test('BatchMatMul: MLP-sized products and empty dims', { skip }, async (t) => {
  const shapes: [number[], number[], boolean, boolean][] = [
    [[128, 784], [784, 512], false, false],
    [[128, 512], [512, 512], false, true],
    [[128, 784], [128, 512], true, false],
    [[3, 0], [0, 4], false, false],
    [[0, 5], [5, 4], false, false],
  ];
  for (const [a, b, ta, tb] of shapes) await compare(`matMul ${a}·${b} ta=${ta} tb=${tb}`, [input(a, 1), input(b, 2)], (x, y) => tf.matMul(x!, y!, ta, tb));
  reportWorst(t);
});

test('_FusedMatMul: bias of n, 1 and [m,n] values, every activation, transposes, batches', { skip }, async (t) => {
  const activations = ['linear', 'relu', 'relu6', 'leakyrelu', 'elu', 'sigmoid', 'prelu'] as const;
  const biases: number[][] = [[6], [1], [5, 6], []];
  for (const activation of activations) {
    for (const biasShape of biases) {
      for (const [ta, tb] of [
        [false, false],
        [true, true],
      ]) {
        const a = ta ? [2, 7, 5] : [2, 5, 7];
        const b = tb ? [6, 7] : [7, 6];
        const inputs = [input(a, 1), input(b, 2), input(biasShape.length ? biasShape : [1], 3), input([6], 4)];
        await compare(`fused ${activation} bias [${biasShape}] ta=${ta} tb=${tb}`, inputs, (x, y, bias, alpha) =>
          tf.fused.matMul({
            a: x! as tf.Tensor3D,
            b: y! as tf.Tensor2D,
            transposeA: ta,
            transposeB: tb,
            bias: biasShape.length ? bias : undefined,
            activation,
            preluActivationWeights: activation === 'prelu' ? alpha : undefined,
            leakyreluAlpha: 0.3,
          }),
        );
      }
    }
  }
  const linear = (x: tf.Tensor, y: tf.Tensor, bias: tf.Tensor) => tf.fused.matMul({ a: x as tf.Tensor2D, b: y as tf.Tensor2D, bias, transposeB: true });
  await compare(
    'fused linear with gradients',
    [input([9, 5], 1), input([4, 5], 2), input([4], 3), input([9, 4], 4)],
    valueAndGrads((x, y, b) => linear(x!, y!, b!), 3),
  );
  reportWorst(t);
});

test('Conv2D gradients: same/valid, stride 1/2, 1×1/3×3/5×5, 1/3/16 channels', { skip }, async (t) => {
  assert.ok((await compareConv2Ds()) <= TOLERANCE);
  reportWorst(t);
});

test('Conv2D gradients: explicit padding, rectangular kernels and strides, dilation, NCHW (wasm fallback)', { skip }, async (t) => {
  await compareConv2DLayouts();
  reportWorst(t);
});

test('Conv2D: CNN-sized layers, more images than one patch-matrix chunk', { skip }, async (t) => {
  const f = valueAndGrads((x, filt) => tf.conv2d(x as tf.Tensor4D, filt as tf.Tensor4D, 1, 'same'), 2);
  await compare('conv2d [40,14,14,32]→64', [input([40, 14, 14, 32], 1), input([3, 3, 32, 64], 2), input([40, 14, 14, 64], 3)], f);
  await compare('conv2d [64,28,28,1]→32', [input([64, 28, 28, 1], 4), input([3, 3, 1, 32], 5), input([64, 28, 28, 32], 6)], f);
  reportWorst(t);
});

test('an MLP and a CNN train on wasm+openblas with gradients matching cpu', { skip }, async (t) => {
  await trainAndCompare('MLP', smallMlp, [32, 48], 10, 4);
  await trainAndCompare('CNN', smallCnn, [16, 14, 14, 1], 10, 3);
  reportWorst(t);
});

test('two trainings in worker threads at once load the addon and agree; LIGHTPATH_NATIVE=0 turns it off', { skip }, async () => {
  const model = await modelToParts(buildMlp({ inputDim: 20, hidden: [32, 16], classes: 3, initializer: 'glorotUniform', seed: 1 }));
  const count = 256;
  const images = Uint8Array.from({ length: count * 20 }, (_, i) => (i * 37) % 256);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 3);
  const train = { images, labels, count, dim: 20, classes: 3 };
  const options: TrainOptions = {
    epochs: 2,
    batchSize: 32,
    learningRate: 1e-2,
    schedule: { kind: 'constant' },
    optimizer: { name: 'adamw', weightDecay: 1e-4, weightDecayMode: 'decoupled' },
    seed: 1,
    oui: { pairs: 4, every: 2 },
  };
  const run = async () => {
    let backend: BackendInfo | null = null;
    const out = await trainInThread({ model, train, val: null, options, resumeFrom: null }, { onBackend: (b) => (backend = b) });
    return { backend: backend!, weights: out.checkpoint.weights };
  };
  const [first, second] = await Promise.all([run(), run()]);
  assert.equal(first.backend.name, 'wasm+openblas');
  assert.equal(second.backend.name, 'wasm+openblas');
  first.weights.forEach((w, i) => assert.deepEqual(w, second.weights[i], `weights ${i} differ between the threads`));
  process.env.LIGHTPATH_NATIVE = '0';
  try {
    const off = await run();
    assert.equal(off.backend.name, 'wasm');
    assert.equal(off.backend.native?.detail, 'disabled by LIGHTPATH_NATIVE=0');
  } finally {
    delete process.env.LIGHTPATH_NATIVE;
  }
});

test('unregistering puts the wasm kernels back; registering again restores the native ones', { skip }, async (t) => {
  unregisterNativeKernels();
  for (const name of NATIVE_KERNELS) {
    const k = tf.getKernel(name, 'wasm');
    assert.ok(!k || !(Symbol.for('lightpath.nativeKernel') in (k.kernelFunc as object)), `${name} is back to wasm, or gone where wasm has none`);
  }
  for (const name of [ADAMW_UPDATE, SGD_UPDATE, RELU_GRAD]) assert.equal(tf.getKernel(name, 'wasm'), undefined, `${name} is gone`);
  assert.ok(Symbol.for('lightpath.wasmTrainingKernel') in (tf.getKernel(tf.BatchMatMul, 'wasm').kernelFunc as object), 'BatchMatMul is lightpath’s wasm kernel again');
  assert.equal(stockConfig(tf.Conv2DBackpropFilter), undefined, 'lightpath’s Conv2DBackpropFilter, which the native one replaced, is not taken for a stock kernel');
  assert.ok((await compareBroadcastMatMul()) <= TOLERANCE);
  assert.equal(registerNativeKernels().active, true);
  const native = NATIVE_KERNELS.map((n) => tf.getKernel(n, 'wasm').kernelFunc);
  for (const name of NATIVE_KERNELS) assert.ok(Symbol.for('lightpath.nativeKernel') in (tf.getKernel(name, 'wasm').kernelFunc as object), `${name} is native again`);
  registerNativeKernels();
  assert.deepEqual(
    NATIVE_KERNELS.map((n) => tf.getKernel(n, 'wasm').kernelFunc),
    native,
    'registering again changes nothing',
  );
  reportWorst(t);
});
