/**
 * Child process of native-blas.test.ts: 3,000 small products and 300 large
 * ones on the native addon, on the threads given as argv[2], while the parent
 * runs it with --cpu-prof (a SIGPROF every few microseconds); prints "done".
 * Signals that landed inside oneDNN's sgemm corrupted the heap (glibc aborted
 * at exit with "corrupted size vs. prev_size") until parallel.c blocked them
 * around each call.
 */
import { nativeBlas } from '../../ml/backend/native/addon.js';

const status = nativeBlas();
if (!status.active) throw new Error(`the addon is not active: ${status.detail}`);
const { blas } = status;
blas.setThreads(Number(process.argv[2] ?? 1));
const values = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i));
const first = new Int32Array(1);
const a = values(128 * 784);
const b = values(784 * 512);
const c = new Float32Array(128 * 512);
for (let i = 0; i < 3000; i++) blas.sgemm(false, false, 128, 10, 512, c, b, a, first, first);
for (let i = 0; i < 300; i++) blas.sgemm(false, false, 128, 512, 784, a, b, c, first, first);
console.log('done');
