/**
 * Backend selection. Order: tfjs-node-gpu → tfjs-node → wasm → cpu, the first that
 * loads and initializes wins; `preferBackend` (the Temporal plugin's `backend`
 * option), `LIGHTPATH_BACKEND` or the `preferred` argument forces one.
 * tfjs-node(-gpu) are optional dependencies whose install downloads
 * libtensorflow; where that failed their import throws and the next is tried.
 * On wasm, the native BLAS provider (native-kernels.ts) takes over the matmuls
 * where its addon was built and `LIGHTPATH_NATIVE` is not 0; the backend is then
 * reported, and recorded in runs, as `wasm+openblas`.
 */
import * as tf from '@tensorflow/tfjs';

export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** A backend as runs record it: its name, or `wasm+openblas` for wasm with the native BLAS provider. */
export type BackendLabel = BackendName | 'wasm+openblas';

/** What the selection found: the backend in use and why the others were passed over. */
export interface BackendInfo {
  name: BackendLabel;
  tried: { name: BackendName; error: string }[];
  /** On wasm: whether the native BLAS provider is in use, and its OpenBLAS build or why not. */
  native?: { active: boolean; detail: string };
}

async function tryLoad(name: BackendName): Promise<Omit<BackendInfo, 'tried'>> {
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
 * Selects and initializes the backend once per thread (later calls return the same
 * answer). Throws when a forced backend cannot load, naming the reason.
 */
export function selectBackend(preferred: string | undefined = preferredBackend()): Promise<BackendInfo> {
  selected ??= (async () => {
    const tried: BackendInfo['tried'] = [];
    if (preferred) {
      if (!isBackend(preferred)) throw new Error(`LIGHTPATH_BACKEND=${preferred} is not one of ${BACKENDS.join(', ')}`);
      const loaded = await tryLoad(preferred).catch((e: Error) => {
        throw new Error(`backend ${preferred} (forced) failed to load: ${e.message.split('\n')[0]}`);
      });
      return { ...loaded, tried };
    }
    for (const name of BACKENDS) {
      try {
        return { ...(await tryLoad(name)), tried };
      } catch (e) {
        tried.push({ name, error: (e as Error).message.split('\n')[0]! });
      }
    }
    throw new Error(`no TensorFlow.js backend loaded: ${tried.map((t) => `${t.name}: ${t.error}`).join('; ')}`);
  })();
  return selected;
}
