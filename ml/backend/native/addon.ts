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
import { cacheDir } from '../../cache-dir.js';

/** The addon's functions (addon.c, gemm.c, conv.c and linalg.c document them). */
export interface NativeBlas {
  sgemm(transA: boolean, transB: boolean, m: number, n: number, k: number, a: Float32Array, b: Float32Array, c: Float32Array, aIndex: Int32Array, bIndex: Int32Array): void;
  epilogue(c: Float32Array, n: number, bias: Float32Array | null, activation: number, alpha: number): void;
  conv2d(mode: number, a: Float32Array, b: Float32Array, out: Float32Array, geometry: Int32Array): void;
  gramAccumulate(a: Float64Array, b: Float64Array, phi: Float32Array, y: Float32Array, n: number, d: number, c: number): void;
  spdSolve(a: Float64Array, b: Float64Array, d: number, c: number): number;
  setThreads(n: number): void;
  info(): { config: string; corename: string; threads: number };
}

/** Whether the addon is in use here, and what it is or why not. */
export type NativeStatus = { active: true; blas: NativeBlas; detail: string } | { active: false; detail: string };

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

/** The addon's C sources, compiled together. */
export const ADDON_SOURCES = ['addon.c', 'gemm.c', 'conv.c', 'linalg.c'].map(here);
const HEADERS = ['napi-args.h'].map(here);

/**
 * Where the build of the current sources lives: in the cache, named by a hash of
 * the sources, platform and architecture (N-API addons do not depend on the
 * Node version), so an edited source is rebuilt and a fresh clone reuses a build.
 */
export function addonPath(): string {
  const hash = createHash('sha256');
  for (const f of [...ADDON_SOURCES, ...HEADERS]) hash.update(readFileSync(f));
  const key = hash.update(`${process.platform}-${process.arch}`).digest('hex').slice(0, 16);
  return join(cacheDir(), 'native', `blas-${key}.node`);
}

/** OpenBLAS threads: `LIGHTPATH_BLAS_THREADS`, default 1 (the comparison with single-threaded PyTorch and one core per training). */
function blasThreads(): number {
  const raw = process.env.LIGHTPATH_BLAS_THREADS;
  if (raw == null || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`LIGHTPATH_BLAS_THREADS=${raw} is not a positive integer`);
  return n;
}

let status: NativeStatus | null = null;

/**
 * Loads the addon once per thread and sets OpenBLAS's thread count. Never
 * throws: a missing build, a failed load or `LIGHTPATH_NATIVE=0` give an
 * inactive status naming the reason in one line.
 */
export function nativeBlas(): NativeStatus {
  status ??= (() => {
    if (process.env.LIGHTPATH_NATIVE === '0') return { active: false, detail: 'disabled by LIGHTPATH_NATIVE=0' };
    const path = addonPath();
    if (!existsSync(path)) return { active: false, detail: `not built (${path} is missing; npm run provision builds it where OpenBLAS is installed)` };
    try {
      const threads = blasThreads();
      const blas = createRequire(import.meta.url)(path) as NativeBlas;
      blas.setThreads(threads);
      const info = blas.info();
      return { active: true, blas, detail: `${info.config}, ${info.threads} thread${info.threads === 1 ? '' : 's'}` };
    } catch (e) {
      return { active: false, detail: `failed to load: ${(e as Error).message.split('\n')[0]}` };
    }
  })();
  return status;
}
