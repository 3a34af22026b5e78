/**
 * The webgpu backend (ml/backend/webgpu.ts) on the software Vulkan adapter the
 * test setup installs (Mesa's lavapipe, scripts/provision.ts): an MLP's and a
 * CNN's training gradients and OUI's activation capture equal the cpu backend's,
 * the adapter is recorded, and adapter choice prefers hardware and pins by index.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { backendLabel, selectBackend, type BackendInfo } from '../../ml/backend/select.js';
import { chooseAdapter, listGpuAdapters, listGpuAdaptersQuietly, type GpuAdapterInfo } from '../../ml/backend/webgpu.js';
import { forwardCapture } from '../../ml/models/forward.js';
import { ouiBatch } from '../../ml/oui.js';
import { relError, reportWorst, smallCnn, smallMlp, TOLERANCE, trainAndCompare, values, noteError, type Build } from '../helpers/backend-compare.js';

const adapters = await listGpuAdapters().catch((e: Error) => e);
const skip = adapters instanceof Error ? `Dawn cannot load: ${adapters.message}` : adapters.length === 0 ? 'no Vulkan adapter (npm run provision installs lavapipe as root)' : false;
let info: BackendInfo;

before(async () => {
  if (!skip) info = await selectBackend('webgpu', { allowSoftware: true });
});

after(() => {
  delete (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu;
});

test('the quiet listing (a child process, as a gpu worker lists) finds the same adapters', async () => {
  const quiet = await listGpuAdaptersQuietly().catch((e: Error) => e);
  if (adapters instanceof Error) assert.ok(quiet instanceof Error, 'the child lists adapters where this process cannot');
  else assert.deepEqual(quiet, adapters);
});

test('selection records the adapter: vendor, architecture, device and driver', { skip }, () => {
  assert.equal(info.name, 'webgpu');
  assert.equal(tf.getBackend(), 'webgpu');
  const gpu = info.gpu!;
  assert.ok(gpu.vendor && gpu.device && gpu.description, JSON.stringify(gpu));
  assert.match(backendLabel(info), /^webgpu \(.+\)$/);
  assert.ok(backendLabel(info).includes(gpu.description));
});

test('an MLP trains on webgpu with gradients matching cpu', { skip }, async (t) => {
  assert.ok((await trainAndCompare('MLP', smallMlp, [32, 48], 10, 3, 'webgpu')) <= TOLERANCE);
  reportWorst(t);
});

test('a small CNN (conv-relu-maxpool ×2 → dense) trains on webgpu with gradients matching cpu', { skip }, async (t) => {
  assert.ok((await trainAndCompare('CNN', smallCnn, [16, 14, 14, 1], 10, 2, 'webgpu')) <= TOLERANCE);
  reportWorst(t);
});

/** The captured activations and the OUI of one batch through `build()` on `backend`, with weights `weights`. */
async function capture(backend: string, build: Build, weights: Float32Array[], x: Float32Array, xShape: number[]): Promise<{ activations: Float32Array[]; oui: number }> {
  await tf.setBackend(backend);
  const model = build();
  const copies = weights.map((w, k) => tf.tensor(w, model.weights[k]!.shape as number[]));
  model.setWeights(copies);
  const input = tf.tensor(x, xShape);
  const { output, activations } = forwardCapture(model, input, true);
  const oui = ouiBatch(activations, { i: [0, 1, 2, 3, 4, 5], j: [6, 7, 8, 9, 10, 11] });
  const out = { activations: [] as Float32Array[], oui: (await oui.data())[0]! };
  for (const a of activations) out.activations.push(Float32Array.from(await a.data()));
  tf.dispose([...copies, input, output, ...activations, oui]);
  model.dispose();
  return out;
}

test('OUI capture on webgpu equals cpu: activations of the training pass and the OUI value', { skip }, async (t) => {
  for (const [label, build, xShape] of [
    ['MLP', smallMlp, [16, 48]],
    ['CNN', smallCnn, [16, 14, 14, 1]],
  ] as [string, Build, number[]][]) {
    await tf.setBackend('cpu');
    const reference = build();
    const weights: Float32Array[] = [];
    for (const w of reference.getWeights()) weights.push(Float32Array.from(await w.data()));
    reference.dispose();
    const x = values(
      xShape.reduce((a, b) => a * b, 1),
      7,
    );
    const gpu = await capture('webgpu', build, weights, x, xShape);
    const cpu = await capture('cpu', build, weights, x, xShape);
    gpu.activations.forEach((a, k) => {
      const e = relError(a, cpu.activations[k]!);
      noteError(e);
      assert.ok(e <= TOLERANCE, `${label} activation ${k}: relative error ${e.toExponential(2)}`);
    });
    assert.ok(relError([gpu.oui], [cpu.oui]) <= TOLERANCE, `${label}: OUI ${gpu.oui} vs cpu ${cpu.oui}`);
  }
  await tf.setBackend('webgpu');
  reportWorst(t);
});

const adapter = (index: number, name: string, software: boolean): GpuAdapterInfo => ({ index, name, api: 'vulkan', vendor: 'v', architecture: 'a', device: name, description: 'd', software });

test('adapter choice: hardware first, software only when allowed, pinning by index', () => {
  const soft = adapter(0, 'llvmpipe', true);
  const hard = adapter(1, 'NVIDIA H100', false);
  assert.equal(chooseAdapter([soft, hard], {}), hard);
  assert.throws(() => chooseAdapter([soft], {}), /no hardware GPU adapter.*--allow-software-gpu/);
  assert.equal(chooseAdapter([soft], { allowSoftware: true }), soft);
  assert.throws(() => chooseAdapter([soft, hard], { adapter: 0 }), /software adapter; allow it with --allow-software-gpu/);
  assert.equal(chooseAdapter([soft, hard], { adapter: 1 }), hard);
  assert.throws(() => chooseAdapter([soft, hard], { adapter: 2 }), /#2 does not exist/);
  assert.throws(() => chooseAdapter([hard, adapter(2, 'NVIDIA H100', false)], { adapter: 1 }), /share its name/);
});
