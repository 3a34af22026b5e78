/**
 * The optional native BLAS addon (the C files here, over OpenBLAS): where its build lives and
 * loading it. scripts/build-native.ts compiles it during provisioning where a C
 * compiler, Node's headers and OpenBLAS's development files are installed; where
 * it was not built, or `LIGHTPATH_NATIVE=0`, the wasm kernels run on their own.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { cacheDir } from '../../cache-dir.js';
import { prepareBlasCore, selfTest, type CoreHow } from './core.js';
import { onThreadsChange, threadsOverride } from './threads.js';

/** The addon's functions (addon.c and the C files it lists document them). */
export interface NativeBlas {
  sgemm(transA: boolean, transB: boolean, m: number, n: number, k: number, a: Float32Array, b: Float32Array, c: Float32Array, aIndex: Int32Array, bIndex: Int32Array): void;
  epilogue(c: Float32Array, n: number, bias: Float32Array | null, activation: number, alpha: number): void;
  conv2d(mode: number, a: Float32Array, b: Float32Array, out: Float32Array, geometry: Int32Array): void;
  conv2dBiasRelu(x: Float32Array, filter: Float32Array, bias: Float32Array, y: Float32Array, geometry: Int32Array): void;
  gatedGram(a: Float64Array, b: Float64Array, value: Float32Array, gate: Float32Array, y: Float32Array, n: number, nv: number, ng: number, c: number): void;
  bilinearForm(a: Float64Array, u: Float64Array, v: Float64Array, d: number, c: number): number;
  spdSolve(a: Float64Array, b: Float64Array, d: number, c: number): number;
  spdSolveFactored(factor: Float64Array, b: Float64Array, d: number, c: number): number;
  adamw(tensors: Float32Array[], params: Float64Array): void;
  sgdMomentum(tensors: Float32Array[], params: Float64Array): void;
  maxPool(x: Float32Array, y: Float32Array, geometry: Int32Array): void;
  maxPoolGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, geometry: Int32Array): void;
  biasAdd(x: Float32Array, bias: Float32Array, out: Float32Array): void;
  sumMiddle(x: Float32Array, out: Float32Array, outer: number, mid: number, inner: number): void;
  relu(x: Float32Array, out: Float32Array): void;
  reluGrad(dy: Float32Array, x: Float32Array, out: Float32Array): void;
  biasRelu(x: Float32Array, bias: Float32Array): void;
  reluGradSum(dy: Float32Array, y: Float32Array, dz: Float32Array, db: Float32Array): void;
  pairHamming(x: Float32Array, d: number, i: Int32Array, j: Int32Array, out: Float32Array): void;
  setThreads(n: number): void;
  info(): { config: string; corename: string; threads: number; products: string };
}

/** The OpenBLAS core type in use (`info().corename`), how it was chosen (core.ts) and why, in one line. */
export interface BlasCore {
  name: string;
  how: CoreHow;
  detail: string;
}

/** Whether the addon is in use here, and what it is or why not. */
export type NativeStatus = { active: true; blas: NativeBlas; detail: string; core: BlasCore } | { active: false; detail: string; core?: BlasCore };

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

/** The addon's C sources, compiled together. */
export const ADDON_SOURCES = ['addon.c', 'gemm.c', 'conv.c', 'linalg.c', 'parallel.c', 'optimizer.c', 'pool.c', 'bias.c', 'oui.c'].map(here);
const HEADERS = ['napi-args.h'].map(here);

/**
 * oneDNN's header where its development files are installed (Debian: libdnnl-dev)
 * and `LIGHTPATH_ONEDNN` is not 0, else null: the addon's float32 products then run
 * on oneDNN (parallel.c).
 */
export function oneDnnHeader(): string | null {
  if (process.env.LIGHTPATH_ONEDNN === '0') return null;
  return ['/usr/include', '/usr/local/include'].map((d) => join(d, 'oneapi', 'dnnl', 'dnnl.h')).find((f) => existsSync(f)) ?? null;
}

/**
 * The compiler flags of every build (scripts/build-native.ts adds the libraries').
 * -ffp-contract=off: no fused multiply-adds where the C says multiply then add, so
 * a loop's bits do not depend on the instruction set it was compiled for (conv.c's
 * target clones).
 */
export const ADDON_CFLAGS = ['-O2', '-fno-math-errno', '-ffp-contract=off', '-std=c11', '-pthread', '-shared', '-fPIC'];

/**
 * Where the build of the current sources lives: in the cache, named by a hash of
 * the sources, the flags, platform, architecture and whether it multiplies with oneDNN
 * (N-API addons do not depend on the Node version), so an edited source, or
 * oneDNN installed later, is rebuilt and a fresh clone reuses a build.
 */
export function addonPath(): string {
  const hash = createHash('sha256');
  for (const f of [...ADDON_SOURCES, ...HEADERS]) hash.update(readFileSync(f));
  const key = hash
    .update(ADDON_CFLAGS.join(' '))
    .update(`${process.platform}-${process.arch}${oneDnnHeader() ? '-onednn' : ''}`)
    .digest('hex')
    .slice(0, 16);
  return join(cacheDir(), 'native', `blas-${key}.node`);
}

let status: NativeStatus | null = null;

/**
 * Loads the addon once per thread. In the main thread it first chooses the
 * OpenBLAS core (core.ts: before the library loads) and then keeps the product
 * thread count at threads.ts's share of the cores; in every thread it checks
 * the products against a JavaScript loop (`selfTest`) and stays off if they
 * disagree. Never throws: a missing build, a failed load or self-test, or
 * `LIGHTPATH_NATIVE=0` give an inactive status naming the reason in one line.
 */
export function nativeBlas(): NativeStatus {
  status ??= (() => {
    if (process.env.LIGHTPATH_NATIVE === '0') return { active: false, detail: 'disabled by LIGHTPATH_NATIVE=0' };
    const path = addonPath();
    if (!existsSync(path)) return { active: false, detail: `not built (${path} is missing; npm run provision builds it where OpenBLAS is installed)` };
    try {
      const override = threadsOverride();
      const choice = prepareBlasCore(path);
      const blas = createRequire(import.meta.url)(path) as NativeBlas;
      const loaded = blas.info();
      const core: BlasCore = { name: loaded.corename, how: choice.how, detail: choice.detail };
      if (choice.core && choice.core.toLowerCase() !== loaded.corename.toLowerCase()) core.detail += ` (asked for ${choice.core}: OpenBLAS was loaded before the choice)`;
      const check = selfTest(blas);
      if (!check.ok)
        return {
          active: false,
          core,
          detail: `self-test failed on OpenBLAS core ${loaded.corename} (error ${check.worst.toExponential(1)}); set OPENBLAS_CORETYPE to another core or LIGHTPATH_NATIVE=0`,
        };
      if (isMainThread) onThreadsChange((n) => blas.setThreads(n));
      else if (override !== undefined) blas.setThreads(override);
      const { config, threads, products } = blas.info();
      return { active: true, blas, core, detail: `${config}, float32 products on ${products}, ${threads} thread${threads === 1 ? '' : 's'}` };
    } catch (e) {
      return { active: false, detail: `failed to load: ${(e as Error).message.split('\n')[0]}` };
    }
  })();
  return status;
}
