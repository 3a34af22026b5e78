/**
 * Comparing a backend's kernels with the cpu backend's: deterministic inputs,
 * forward results and gradients within a relative error, no leaked tensors or
 * wasm buffers, and training steps whose gradients must match. Shared by the
 * wasm-kernel, native-BLAS and WebGPU tests.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** The largest relative error allowed against cpu. */
export const TOLERANCE = 1e-5;

/** Deterministic values in [-1, 1). */
export function values(n: number, seed: number): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** A test input: shape, data and dtype (default float32). */
export interface Input {
  shape: number[];
  data: Float32Array | Int32Array;
  dtype?: 'float32' | 'int32';
}

/** Deterministic float32 input of `shape`. */
export const input = (shape: number[], seed: number): Input => ({
  shape,
  data: values(
    shape.reduce((a, b) => a * b, 1),
    seed,
  ),
});

/** max |a − b| / max(max |b|, tiny). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'sizes differ');
  let diff = 0;
  let scale = 1e-30;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

function wasmBackend(): BackendWasm {
  return tf.findBackend('wasm') as BackendWasm;
}

/**
 * Runs `fn` on tensors made from `inputs` on `backend`; returns the data and
 * shapes of its outputs, disposing everything it made.
 */
export async function runOn(backend: string, inputs: Input[], fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Promise<{ data: Float32Array[]; shapes: number[][] }> {
  await tf.setBackend(backend);
  const xs = inputs.map((i) => tf.tensor(i.data, i.shape, i.dtype ?? 'float32'));
  const out = fn(...xs);
  const outs = Array.isArray(out) ? out : [out];
  const data: Float32Array[] = [];
  for (const t of outs) data.push(Float32Array.from(await t.data()));
  const shapes = outs.map((t) => t.shape);
  tf.dispose([...xs, ...outs]);
  return { data, shapes };
}

let worstInTest = 0;

/** Counts `e` towards the worst relative error that `reportWorst` reports. */
export function noteError(e: number): void {
  worstInTest = Math.max(worstInTest, e);
}

/** Reports (as a test diagnostic) and resets the worst relative error seen since the last call. */
export function reportWorst(t: { diagnostic: (message: string) => void }): void {
  t.diagnostic(`worst relative error vs cpu: ${worstInTest.toExponential(2)}`);
  worstInTest = 0;
}

/**
 * Compares `fn` on wasm with cpu; on wasm also checks that no tensor and no wasm
 * buffer outlives the call. Returns the worst relative error.
 */
export async function compare(label: string, inputs: Input[], fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Promise<number> {
  await tf.setBackend('wasm');
  const tensors = tf.memory().numTensors;
  const buffers = wasmBackend().numDataIds();
  const w = await runOn('wasm', inputs, fn);
  await tf.setBackend('wasm');
  assert.equal(tf.memory().numTensors, tensors, `${label}: tensors leaked`);
  assert.equal(wasmBackend().numDataIds(), buffers, `${label}: wasm buffers leaked`);
  const c = await runOn('cpu', inputs, fn);
  await tf.setBackend('wasm');
  let worst = 0;
  w.data.forEach((d, i) => {
    assert.deepEqual(w.shapes[i], c.shapes[i], `${label}: output ${i} shape`);
    const e = relError(d, c.data[i]!);
    assert.ok(e <= TOLERANCE, `${label}: output ${i} relative error ${e.toExponential(2)}`);
    worst = Math.max(worst, e);
  });
  worstInTest = Math.max(worstInTest, worst);
  return worst;
}

/** `f`'s value followed by the gradients of Σ f·dy with respect to every input. */
export function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, arity: number): (...xs: tf.Tensor[]) => tf.Tensor[] {
  return (...all: tf.Tensor[]) =>
    tf.tidy(() => {
      const xs = all.slice(0, arity);
      const dy = all[arity]!;
      return [f(...xs), ...tf.grads((...v: tf.Tensor[]) => f(...v))(xs, dy)];
    });
}

/** Runs kernel `name` directly (for attributes the ops do not expose). */
export function kernel(name: string, inputs: Record<string, tf.Tensor>, attrs: tf.NamedAttrMap): tf.Tensor {
  return tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs) as tf.Tensor;
}

/** Builds the same model on both backends. */
export type Build = () => tf.Sequential;

/**
 * Trains `build()` on `backend` (default wasm) with SGD for `steps` steps; before
 * each step the cpu copy takes the trained model's weights, and both compute the
 * loss gradients of the same batch, which must match. Returns the worst relative
 * error of the gradients.
 */
export async function trainAndCompare(label: string, build: Build, xShape: number[], classes: number, steps: number, backend = 'wasm'): Promise<number> {
  await tf.setBackend(backend);
  const tensorsBefore = tf.memory().numTensors;
  const testModel = build();
  const opt = tf.train.sgd(0.1);
  await tf.setBackend('cpu');
  const cpuModel = build();
  await tf.setBackend(backend);
  const n = xShape[0]!;
  const initial = Float32Array.from(await testModel.getWeights()[0]!.data());
  let worst = 0;
  for (let s = 0; s < steps; s++) {
    const xData = values(
      xShape.reduce((a, b) => a * b, 1),
      100 + s,
    );
    const labels = Int32Array.from({ length: n }, (_, i) => (i * 7 + s) % classes);
    const grads: Record<'test' | 'cpu', Float32Array[]> = { test: [], cpu: [] };
    const loss: Record<'test' | 'cpu', number[]> = { test: [], cpu: [] };
    const weights: Float32Array[] = [];
    for (const w of testModel.getWeights()) weights.push(Float32Array.from(await w.data()));
    for (const side of ['cpu', 'test'] as const) {
      await tf.setBackend(side === 'test' ? backend : 'cpu');
      const model = side === 'test' ? testModel : cpuModel;
      if (side === 'cpu') {
        const copies = weights.map((w, k) => tf.tensor(w, model.weights[k]!.shape as number[]));
        model.setWeights(copies);
        tf.dispose(copies);
      }
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const x = tf.tensor(xData, xShape);
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), classes));
      const { value, grads: g } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, vars);
      loss[side].push((await value.data())[0]!);
      for (const v of vars) grads[side].push(Float32Array.from(await g[v.name]!.data()));
      if (side === 'test') opt.applyGradients(g);
      tf.dispose([x, y, value, ...Object.values(g)]);
    }
    assert.ok(Number.isFinite(loss.test[0]!), `${label} step ${s}: loss is finite`);
    assert.ok(relError(loss.test, loss.cpu) <= TOLERANCE, `${label} step ${s}: loss ${loss.test[0]} vs cpu ${loss.cpu[0]}`);
    grads.test.forEach((g, k) => {
      const e = relError(g, grads.cpu[k]!);
      worst = Math.max(worst, e);
      assert.ok(e <= TOLERANCE, `${label} step ${s}: gradient of ${testModel.trainableWeights[k]!.name} relative error ${e.toExponential(2)}`);
    });
  }
  worstInTest = Math.max(worstInTest, worst);
  assert.ok(relError(await testModel.getWeights()[0]!.data(), initial) > 0, `${label}: training changed the weights`);
  testModel.dispose();
  opt.dispose();
  await tf.setBackend('cpu');
  cpuModel.dispose();
  await tf.setBackend(backend);
  assert.equal(tf.memory().numTensors, tensorsBefore, `${label}: tensors leaked`);
  return worst;
}

/** A 48-64-32-10 ReLU MLP with seeded weights (build it once per backend). */
export const smallMlp: Build = () => {
  const m = tf.sequential();
  m.add(tf.layers.dense({ units: 64, activation: 'relu', inputShape: [48], kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
  m.add(tf.layers.dense({ units: 32, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  m.add(tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
  return m;
};

/** BatchMatMul operand shapes (untransposed): plain, batched, one side batched, broadcast batch dims. */
const MATMUL_CASES: [number[], number[]][] = [
  [
    [5, 7],
    [7, 3],
  ],
  [
    [64, 96],
    [96, 48],
  ],
  [
    [1, 30, 20],
    [1, 20, 10],
  ],
  [
    [4, 33, 40],
    [4, 40, 17],
  ],
  [
    [2, 3, 20, 30],
    [2, 3, 30, 10],
  ],
  [
    [3, 40, 50],
    [50, 20],
  ],
  [
    [40, 50],
    [3, 50, 20],
  ],
  [
    [2, 3, 20, 30],
    [3, 30, 10],
  ],
  [
    [3, 4, 5],
    [5, 6],
  ],
  [
    [4, 5],
    [3, 5, 6],
  ],
];

/**
 * Compares tf.matMul on wasm with cpu for every case of MATMUL_CASES and every
 * transpose combination, with gradients where no batch dim broadcasts; returns
 * the worst relative error.
 */
export async function compareMatMuls(): Promise<number> {
  let worst = 0;
  for (const [aShape, bShape] of MATMUL_CASES) {
    const ar = aShape.length;
    const br = bShape.length;
    const outer = tf.backend_util.assertAndGetBroadcastShape(aShape.slice(0, -2), bShape.slice(0, -2));
    // TF.js's matMul gradient does not reduce broadcast batch dims, so broadcasting cases compare the forward pass only.
    const broadcasting = !(aShape.slice(0, -2).join() === outer.join() && bShape.slice(0, -2).join() === outer.join());
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const a = ta ? [...aShape.slice(0, -2), aShape[ar - 1]!, aShape[ar - 2]!] : aShape;
        const b = tb ? [...bShape.slice(0, -2), bShape[br - 1]!, bShape[br - 2]!] : bShape;
        const label = `matMul ${a}·${b} ta=${ta} tb=${tb}`;
        const mm = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, ta, tb);
        const e = broadcasting
          ? await compare(label, [input(a, 1), input(b, 2)], (x, y) => mm(x!, y!))
          : await compare(
              label,
              [input(a, 1), input(b, 2), input([...outer, aShape[ar - 2]!, bShape[br - 1]!], 3)],
              valueAndGrads((x, y) => mm(x!, y!), 2),
            );
        worst = Math.max(worst, e);
      }
    }
  }
  return worst;
}

/**
 * Compares a [2,1,6,5]·[3,5,4] product on wasm with TensorFlow's broadcasting:
 * the cpu backend gets this case wrong (it pairs batch elements by index modulo
 * each batch size), so the reference is an equal-batch product of tiled
 * operands. Returns the relative error.
 */
export async function compareBroadcastMatMul(): Promise<number> {
  const a = input([2, 1, 6, 5], 4);
  const b = input([3, 5, 4], 5);
  const got = await runOn('wasm', [a, b], (x, y) => tf.matMul(x!, y!));
  const ref = await runOn('cpu', [a, b], (x, y) =>
    tf.tidy(() => {
      const tiledA = tf.reshape(tf.tile(x!, [1, 3, 1, 1]), [6, 6, 5]);
      const tiledB = tf.reshape(tf.tile(tf.reshape(y!, [1, 3, 5, 4]), [2, 1, 1, 1]), [6, 5, 4]);
      return tf.reshape(tf.matMul(tiledA, tiledB), [2, 3, 6, 4]);
    }),
  );
  await tf.setBackend('wasm');
  assert.deepEqual(got.shapes[0], ref.shapes[0]);
  const e = relError(got.data[0]!, ref.data[0]!);
  noteError(e);
  return e;
}

/**
 * Compares tf.conv2d with its gradients on wasm with cpu: same/valid padding,
 * strides 1 and 2, 1×1/3×3/5×5 kernels, 1/3/16 channels; returns the worst
 * relative error.
 */
export async function compareConv2Ds(): Promise<number> {
  const channels: [number, number][] = [
    [1, 3],
    [3, 16],
    [16, 1],
    [16, 16],
  ];
  let worst = 0;
  for (const pad of ['same', 'valid'] as const) {
    for (const stride of [1, 2]) {
      for (const k of [1, 3, 5]) {
        for (const [cin, cout] of channels) {
          const [h, w] = [11, 9];
          const oh = pad === 'same' ? Math.ceil(h / stride) : Math.floor((h - k) / stride) + 1;
          const ow = pad === 'same' ? Math.ceil(w / stride) : Math.floor((w - k) / stride) + 1;
          const f = valueAndGrads((x, filt) => tf.conv2d(x as tf.Tensor4D, filt as tf.Tensor4D, stride, pad), 2);
          const e = await compare(`conv2d ${pad} s${stride} k${k} ${cin}→${cout}`, [input([2, h, w, cin], 1), input([k, k, cin, cout], 2), input([2, oh, ow, cout], 3)], f);
          worst = Math.max(worst, e);
        }
      }
    }
  }
  return worst;
}

/**
 * Compares convolutions with explicit padding, rectangular kernels and strides,
 * a dilated forward pass, and the two gradient kernels on NCHW inputs, on wasm
 * with cpu.
 */
export async function compareConv2DLayouts(): Promise<void> {
  const explicit: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [1, 2],
    [0, 3],
    [0, 0],
  ];
  await compare(
    'conv2d explicit padding',
    [input([2, 8, 7, 3], 1), input([3, 2, 3, 5], 2), input([2, 9, 9, 5], 3)],
    valueAndGrads((x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, explicit), 2),
  );
  await compare(
    'conv2d strides [2,3] same',
    [input([2, 10, 11, 4], 4), input([3, 3, 4, 6], 5), input([2, 5, 4, 6], 6)],
    valueAndGrads((x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, [2, 3], 'same'), 2),
  );
  await compare('conv2d dilation 2 same (forward)', [input([2, 9, 8, 3], 11), input([3, 3, 3, 4], 12)], (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same', 'NHWC', 2));
  const attrs = { strides: [2, 1], pad: 'same', dataFormat: 'NCHW' };
  await compare('Conv2DBackpropFilter NCHW', [input([2, 3, 9, 8], 7), input([2, 4, 5, 8], 8)], (x, dy) => kernel('Conv2DBackpropFilter', { x: x!, dy: dy! }, { ...attrs, filterShape: [3, 3, 3, 4] }));
  await compare('Conv2DBackpropInput NCHW', [input([2, 4, 5, 8], 9), input([3, 3, 3, 4], 10)], (dy, f) =>
    kernel('Conv2DBackpropInput', { dy: dy!, filter: f! }, { ...attrs, inputShape: [2, 3, 9, 8] }),
  );
}

/** A 14×14×1 CNN: conv 3×3 8 same → relu → maxpool → conv 3×3 16 valid → relu → maxpool → dense 10. */
export const smallCnn: Build = () => {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [14, 14, 1], kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
  m.add(tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'valid', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
  return m;
};
