/**
 * Backend selection. Order: tfjs-node-gpu → tfjs-node → wasm → cpu, the first that
 * loads and initializes wins; `preferBackend` (the Temporal plugin's `backend`
 * option, a gpu worker's choice, see gpu-worker.ts), `LIGHTPATH_BACKEND` or the
 * `preferred` argument forces one. `webgpu` (webgpu.ts) is never picked on its
 * own: it is forced, or chosen by a gpu worker; its adapter follows `preferGpu`
 * (`LIGHTPATH_GPU_ADAPTER`, `LIGHTPATH_ALLOW_SOFTWARE_GPU`).
 * tfjs-node(-gpu) are optional dependencies whose install downloads
 * libtensorflow; where that failed their import throws and the next is tried.
 * On wasm, the native BLAS provider (native-kernels.ts) takes over the matmuls
 * where its addon was built and `LIGHTPATH_NATIVE` is not 0; the backend is then
 * reported, and recorded in runs, as `wasm+openblas`.
 */
import * as tf from '@tensorflow/tfjs';
import { adapterLabel, loadWebGpu, type GpuAdapterInfo, type GpuOptions } from './webgpu.js';

export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** The backends tried, in order, when none is forced. */
const AUTO_ORDER: BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** A backend by name, or `wasm+openblas` for wasm with the native BLAS provider. */
export type BackendLabel = BackendName | 'wasm+openblas';

/** What the selection found: the backend in use and why the others were passed over. */
export interface BackendInfo {
  name: BackendLabel;
  tried: { name: BackendName; error: string }[];
  /** On wasm: whether the native BLAS provider is in use, and its OpenBLAS build or why not. */
  native?: { active: boolean; detail: string };
  /** On webgpu: the adapter in use. */
  gpu?: GpuAdapterInfo;
}

/** The backend as runs record it (manifest, results): the name, and on webgpu the adapter's vendor, architecture, device and driver. */
export function backendLabel(info: Pick<BackendInfo, 'name' | 'gpu'>): string {
  return info.gpu ? `${info.name} (${adapterLabel(info.gpu)})` : info.name;
}

/** Loads and initializes backend `name` (webgpu on the adapter `gpu` asks for); throws why it cannot. */
export async function loadBackend(name: BackendName, gpu: GpuOptions = preferredGpu()): Promise<Omit<BackendInfo, 'tried'>> {
  switch (name) {
    case 'webgpu':
      return { name, gpu: await loadWebGpu(gpu) };
    default:
      return tryLoad(name);
  }
}

async function tryLoad(name: Exclude<BackendName, 'webgpu'>): Promise<Omit<BackendInfo, 'tried'>> {
  switch (name) {
    case 'tensorflow-gpu':
      await import('@tensorflow/tfjs-node-gpu' as string);
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tfjs-node-gpu loaded but the tensorflow backend failed to initialize');
      return { name };
    case 'tensorflow':
      await import('@tensorflow/tfjs-node' as string);
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tfjs-node loaded but the tensorflow backend failed to initialize');
      return { name };
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialize');
      (await import('./wasm-kernels.js')).registerWasmTrainingKernels();
      return wasmWithProvider();
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialize');
      return { name };
  }
}

async function wasmWithProvider(): Promise<Omit<BackendInfo, 'tried'>> {
  const { active, detail } = (await import('./native-kernels.js')).registerNativeKernels();
  return { name: active ? 'wasm+openblas' : 'wasm', native: { active, detail } };
}

let selected: Promise<BackendInfo> | null = null;
let processBackend: BackendName | null = null;
let processGpu: GpuOptions | null = null;

function isBackend(name: string): name is BackendName {
  return (BACKENDS as readonly string[]).includes(name);
}

/**
 * Makes `name` this process's backend, over `LIGHTPATH_BACKEND` (training threads
 * get it from `preferredBackend`). Call before anything selects one; a process has one.
 */
export function preferBackend(name: string): void {
  if (!isBackend(name)) throw new Error(`backend ${name} is not one of ${BACKENDS.join(', ')}`);
  if (processBackend === name) return;
  if (processBackend !== null || selected !== null) throw new Error(`backend ${name}: this process already ${processBackend ? `prefers ${processBackend}` : 'selected its backend'}`);
  processBackend = name;
}

/** The backend this process forces, if any: `preferBackend`'s, else `LIGHTPATH_BACKEND`. */
export function preferredBackend(): string | undefined {
  return processBackend ?? process.env.LIGHTPATH_BACKEND;
}

/**
 * Sets which GPU adapter webgpu uses in this process and its training threads,
 * over `LIGHTPATH_GPU_ADAPTER` and `LIGHTPATH_ALLOW_SOFTWARE_GPU`.
 */
export function preferGpu(options: GpuOptions): void {
  processGpu = { ...options };
}

/** The adapter choice for webgpu: `preferGpu`'s, else from `LIGHTPATH_GPU_ADAPTER` and `LIGHTPATH_ALLOW_SOFTWARE_GPU=1`. */
export function preferredGpu(): GpuOptions {
  if (processGpu) return processGpu;
  const pinned = process.env.LIGHTPATH_GPU_ADAPTER;
  if (pinned && !/^\d+$/.test(pinned)) throw new Error(`LIGHTPATH_GPU_ADAPTER=${pinned} is not an adapter index (0, 1, …)`);
  return { adapter: pinned ? Number(pinned) : undefined, allowSoftware: process.env.LIGHTPATH_ALLOW_SOFTWARE_GPU === '1' };
}

/**
 * Selects and initializes the backend once per thread (later calls return the same
 * answer). Throws when a forced backend cannot load, naming the reason.
 */
export function selectBackend(preferred: string | undefined = preferredBackend(), gpu: GpuOptions = preferredGpu()): Promise<BackendInfo> {
  selected ??= (async () => {
    const tried: BackendInfo['tried'] = [];
    if (preferred) {
      if (!isBackend(preferred)) throw new Error(`LIGHTPATH_BACKEND=${preferred} is not one of ${BACKENDS.join(', ')}`);
      const loaded = await loadBackend(preferred, gpu).catch((e: Error) => {
        throw new Error(`backend ${preferred} (forced) failed to load: ${e.message.split('\n')[0]}`);
      });
      return { ...loaded, tried };
    }
    for (const name of AUTO_ORDER) {
      try {
        return { ...(await loadBackend(name, gpu)), tried };
      } catch (e) {
        tried.push({ name, error: (e as Error).message.split('\n')[0]! });
      }
    }
    throw new Error(`no TensorFlow.js backend loaded: ${tried.map((t) => `${t.name}: ${t.error}`).join('; ')}`);
  })();
  return selected;
}
