/**
 * Backend selection. Order: tfjs-node-gpu → tfjs-node → wasm → cpu, the first that
 * loads and initializes wins; `LIGHTPATH_BACKEND` (or the `preferred` argument)
 * forces one. tfjs-node(-gpu) are optional dependencies whose install downloads
 * libtensorflow; where that failed their import throws and the next is tried.
 */
import * as tf from '@tensorflow/tfjs';

export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** What the selection found: the backend in use and why the others were passed over. */
export interface BackendInfo {
  name: BackendName;
  tried: { name: BackendName; error: string }[];
}

async function tryLoad(name: BackendName): Promise<void> {
  switch (name) {
    case 'tensorflow-gpu':
      await import('@tensorflow/tfjs-node-gpu' as string);
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tfjs-node-gpu loaded but the tensorflow backend failed to initialize');
      return;
    case 'tensorflow':
      await import('@tensorflow/tfjs-node' as string);
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tfjs-node loaded but the tensorflow backend failed to initialize');
      return;
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialize');
      (await import('./wasm-kernels.js')).registerWasmTrainingKernels();
      return;
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialize');
      return;
  }
}

let selected: Promise<BackendInfo> | null = null;

/**
 * Selects and initializes the backend once per thread (later calls return the same
 * answer). Throws when a forced backend cannot load, naming the reason.
 */
export function selectBackend(preferred: string | undefined = process.env.LIGHTPATH_BACKEND): Promise<BackendInfo> {
  selected ??= (async () => {
    const tried: BackendInfo['tried'] = [];
    if (preferred) {
      if (!(BACKENDS as readonly string[]).includes(preferred)) {
        throw new Error(`LIGHTPATH_BACKEND=${preferred} is not one of ${BACKENDS.join(', ')}`);
      }
      await tryLoad(preferred as BackendName).catch((e: Error) => {
        throw new Error(`backend ${preferred} (forced by LIGHTPATH_BACKEND) failed to load: ${e.message.split('\n')[0]}`);
      });
      return { name: preferred as BackendName, tried };
    }
    for (const name of BACKENDS) {
      try {
        await tryLoad(name);
        return { name, tried };
      } catch (e) {
        tried.push({ name, error: (e as Error).message.split('\n')[0]! });
      }
    }
    throw new Error(`no TensorFlow.js backend loaded: ${tried.map((t) => `${t.name}: ${t.error}`).join('; ')}`);
  })();
  return selected;
}
