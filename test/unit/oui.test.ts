import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ouiBatch, batchOuiLayer, OuiMeter, drawPairs } from '../../ml/oui.js';
import { Rng } from '../../ml/rng.js';

const close = (a: number, b: number, msg?: string) => assert.ok(Math.abs(a - b) < 1e-6, `${msg ?? ''} ${a} ≠ ${b}`);

const masks = tf.tensor2d([
  [1, 1, 0, 0],
  [2, 3, 0, 0],
  [0, 0, 5, 1],
  [4, 0, 0, 0],
]);

test('OUI of hand-built masks: Hamming distance clamped at ⌊D/2⌋ and divided by it', async () => {
  // (0,1): same pattern → 0; (0,2): 4 bits differ, clamped to 2 → 1; (0,3): 1 bit → 0.5.
  close((await ouiBatch([masks], { i: [0], j: [1] }).data())[0]!, 0);
  close((await ouiBatch([masks], { i: [0], j: [2] }).data())[0]!, 1);
  close((await ouiBatch([masks], { i: [0], j: [3] }).data())[0]!, 0.5);
  close((await ouiBatch([masks], { i: [0, 0, 0], j: [1, 2, 3] }).data())[0]!, 0.5);
});

test('every layer weighs the same regardless of its size', async () => {
  // Layer 2 has D = 100; rows 0 and 2 differ in 10 units → 10/50 = 0.2. Layer 1 gives 1 for that pair.
  const big = tf.buffer([4, 100]);
  for (let u = 0; u < 10; u++) big.set(1, 0, u);
  const v = (await ouiBatch([masks, big.toTensor()], { i: [0], j: [2] }).data())[0]!;
  close(v, (1 + 0.2) / 2, 'mean of layer means');
});

test('conv maps count every H·W·C position', async () => {
  const a = tf.tensor4d([1, 0, 0, 0, 1, 1, 1, 0], [2, 2, 2, 1]); // D = 4; rows differ in 2 positions → min(2,2)/2 = 1
  close((await ouiBatch([a], { i: [0], j: [1] }).data())[0]!, 1);
});

test('pairs are drawn once from the seed and reused for every measurement', async () => {
  const meter = new OuiMeter({ pairs: 28, every: 10 }, Rng.fromSeed(7));
  assert.equal(meter.wants(0, 32), true);
  assert.equal(meter.wants(5, 32), false);
  const x1 = tf.randomNormal([32, 50], 0, 1, 'float32', 1);
  const x2 = tf.randomNormal([32, 50], 0, 1, 'float32', 2);
  meter.record([x1]);
  const pairs = meter.snapshot().pairs!;
  assert.equal(pairs.i.length, 28);
  assert.deepEqual(pairs, drawPairs(28, 32, Rng.fromSeed(7)), 'pairs come from the seeded generator');
  pairs.i.forEach((i, k) => assert.ok(i < pairs.j[k]!));
  assert.equal(new Set(pairs.i.map((i, k) => `${i},${pairs.j[k]}`)).size, 28, 'distinct pairs');
  meter.record([x2]);
  assert.deepEqual(meter.snapshot().pairs, pairs, 'same pairs after a second measurement');
  assert.equal(meter.wants(10, 32), true);
  assert.equal(meter.wants(10, 31), false, 'a short batch is not measured: the pairs must index into it');
  const expected = ((await ouiBatch([x1], pairs).data())[0]! + (await ouiBatch([x2], pairs).data())[0]!) / 2;
  close(await meter.epochValue(), expected, 'epoch value = mean of measurements');
  assert.ok(Number.isNaN(await meter.epochValue()), 'reset after reading');
});

test('batch OUI per layer: mean_u min(s_u, B − s_u) / ⌊B/2⌋', async () => {
  const pre = tf.tensor2d([
    [1, 1, 1],
    [1, 1, -1],
    [1, -1, -1],
    [1, -1, -1],
  ]); // s = [4, 2, 1] → [0, 1, 0.5]
  close((await batchOuiLayer(pre).data())[0]!, 0.5);
});

test("wasm's PairHamming kernel gives the cpu backend's OUI on conv and dense activations", async () => {
  const { selectBackend } = await import('../../ml/backend/select.js');
  const { PAIR_HAMMING } = await import('../../ml/backend/wasm-kernels/pair-hamming.js');
  const rng = Rng.fromSeed(11);
  const shapes = [
    [32, 6, 6, 5],
    [32, 40],
  ];
  const values = shapes.map((s) => Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.next() - 0.5));
  const pairs = drawPairs(28, 32, Rng.fromSeed(3));
  const oui = async () => {
    const acts = shapes.map((s, k) => tf.tensor(values[k]!, s));
    const r = ouiBatch(acts, pairs);
    const v = (await r.data())[0]!;
    tf.dispose([...acts, r]);
    return v;
  };
  await tf.setBackend('cpu');
  const onCpu = await oui();
  await selectBackend();
  assert.ok(tf.getBackend() === 'wasm' && tf.getKernel(PAIR_HAMMING, 'wasm'), 'the kernel is registered on wasm');
  const onWasm = await oui();
  await tf.setBackend('cpu');
  assert.ok(onCpu > 0.8 && onCpu < 1, `random signs: distances near D/2, clamped: OUI ${onCpu}`);
  assert.ok(Math.abs(onWasm - onCpu) <= 1e-6, `wasm ${onWasm} vs cpu ${onCpu}`);
});
