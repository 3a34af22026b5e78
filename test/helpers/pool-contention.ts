/**
 * Child process of native-blas.test.ts: products and elementwise passes on the
 * native addon's thread pool while two spinning threads oversubscribe the cores,
 * so that its helpers are preempted in every state (waiting for a job, inside
 * one, done). Each result is compared bit for bit with the same call on one
 * thread; prints "calls N mismatches M" (M must be 0).
 */
import { Worker } from 'node:worker_threads';
import { nativeBlas } from '../../ml/backend/native/addon.js';
import { values } from './backend-compare.js';

const status = nativeBlas();
if (!status.active) throw new Error(`the addon is not active: ${status.detail}`);
const { blas } = status;
const seconds = Number(process.argv[2] ?? 8);
const spin = `const end = Date.now() + ${seconds * 1000 + 2000}; let x = 0; while (Date.now() < end) x++;`;
const spinners = [new Worker(spin, { eval: true }), new Worker(spin, { eval: true })];

let seed = 12345;
/** A uniform integer in [1, max] from a fixed linear congruential sequence. */
const draw = (max: number) => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return 1 + (seed % max);
};
const same = (a: Float32Array, b: Float32Array) => a.every((v, i) => Object.is(v, b[i]));
const first = new Int32Array(1);
let calls = 0;
let mismatches = 0;
const end = Date.now() + seconds * 1000;
while (Date.now() < end) {
  const [m, n, k] = [draw(700), draw(1100), draw(300)];
  const a = values(m * k, seed);
  const b = values(k * n, seed + 1);
  const reference = new Float32Array(m * n);
  blas.setThreads(1);
  blas.sgemm(false, false, m, n, k, a, b, reference, first, first);
  const bias = values(n, seed + 2);
  const activated = reference.slice();
  blas.biasRelu(activated, bias);
  for (let threads = 2; threads <= 4; threads++) {
    blas.setThreads(threads);
    const c = new Float32Array(m * n).fill(NaN);
    blas.sgemm(false, false, m, n, k, a, b, c, first, first);
    blas.biasRelu(c, bias);
    calls += 2;
    if (!same(c, activated)) mismatches++;
  }
}
await Promise.all(spinners.map((w) => w.terminate()));
console.log(`calls ${calls} mismatches ${mismatches}`);
