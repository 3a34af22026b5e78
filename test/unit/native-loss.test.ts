/**
 * The fused classifier loss (ml/backend/fused-loss.ts on the wasm kernels of
 * ml/backend/wasm-kernels/softmax-xent.ts) against TF.js's ops on the cpu
 * backend, bit for bit: the mean softmax cross-entropy, the accuracy count and
 * the logits' gradient, on a training batch, ties, large logits, a single row
 * and labels outside the classes; and on wasm the loss runs the fused kernels.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../ml/backend/select.js';
import { SOFTMAX_XENT, SOFTMAX_XENT_GRAD, hasKernel } from '../../ml/backend/fused-ops.js';
import { softmaxCrossEntropyAndCount } from '../../ml/backend/fused-loss.js';
import { values } from '../helpers/backend-compare.js';

before(async () => {
  await selectBackend('wasm');
});

interface Case {
  label: string;
  n: number;
  c: number;
  logits: (n: number, c: number) => Float32Array;
  labels: (n: number, c: number) => Int32Array;
}

const spread = (scale: number) => (n: number, c: number) => values(n * c, 7).map((v) => v * scale);
const cycle = (n: number, c: number) => Int32Array.from({ length: n }, (_, i) => (i * 7) % c);

const CASES: Case[] = [
  { label: 'training batch 128×10', n: 128, c: 10, logits: spread(4), labels: cycle },
  { label: 'ties (first arg-max counts)', n: 6, c: 4, logits: (n, c) => Float32Array.from({ length: n * c }, (_, i) => i % 2), labels: (n) => Int32Array.from({ length: n }, (_, i) => i % 4) },
  { label: 'large logits', n: 9, c: 5, logits: spread(80), labels: cycle },
  { label: 'two classes, one row', n: 1, c: 2, logits: spread(2), labels: (n) => new Int32Array(n) },
  { label: 'labels outside the classes', n: 5, c: 3, logits: spread(1), labels: (n) => Int32Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 3)) },
];

/** Loss, count and d logits (for upstream gradient 0.37) on `backend`, as raw float32 arrays. */
async function run(backend: string, c: Case): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const logits = tf.tensor2d(c.logits(c.n, c.c), [c.n, c.c]);
  const labels = tf.tensor1d(c.labels(c.n, c.c), 'int32');
  const counts: tf.Tensor[] = [];
  const f = (x: tf.Tensor) => {
    const { loss, correct } = softmaxCrossEntropyAndCount(x as tf.Tensor2D, labels);
    counts.push(correct);
    return loss;
  };
  const dy = tf.scalar(0.37);
  const { value, grad } = tf.valueAndGrad(f)(logits, dy);
  const out = [value, counts[0]!, grad];
  const data = await Promise.all(out.map(async (t) => Float32Array.from(await t.data())));
  tf.dispose([logits, labels, dy, ...out, ...counts]);
  return data;
}

for (const c of CASES) {
  test(`fused softmax cross-entropy on wasm has the cpu backend's bits: ${c.label}`, async () => {
    const cpu = await run('cpu', c);
    const wasm = await run('wasm', c);
    assert.ok(hasKernel(SOFTMAX_XENT), 'the wasm backend lacks the fused loss kernel');
    ['loss', 'correct count', 'd logits'].forEach((what, i) => {
      assert.ok(cpu[i]!.every(Number.isFinite), `${what}: not finite on cpu`);
      assert.deepEqual(Buffer.from(wasm[i]!.buffer), Buffer.from(cpu[i]!.buffer), `${what}: wasm ${wasm[i]!.slice(0, 4)} vs cpu ${cpu[i]!.slice(0, 4)}`);
    });
  });
}

test('the fused loss runs its two kernels in place of TF.js ops', async () => {
  await tf.setBackend('wasm');
  const logits = tf.tensor2d(values(40, 3), [8, 5]);
  const labels = tf.tensor1d(cycle(8, 5), 'int32');
  const info = await tf.profile(() => {
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => {
      const r = softmaxCrossEntropyAndCount(x as tf.Tensor2D, labels);
      r.correct.dispose();
      return r.loss;
    })(logits);
    return [value, grad];
  });
  const names = info.kernels.map((k) => k.name).filter((n) => !n.endsWith('__op') && n !== 'Identity' && n !== 'Reshape');
  assert.ok(names.includes(SOFTMAX_XENT) && names.includes(SOFTMAX_XENT_GRAD), `kernels run: ${names.join(', ')}`);
  for (const stock of ['OneHot', 'ArgMax', 'Exp', 'Log', 'Max', 'Multiply']) assert.ok(!names.includes(stock), `${stock} ran: ${names.join(', ')}`);
  tf.dispose([logits, labels, ...(info.result as tf.Tensor[])]);
});
