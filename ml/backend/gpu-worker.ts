/**
 * The backend of a gpu worker, chosen once at the worker's start (in its own
 * process, before it polls): tfjs-node-gpu (CUDA) when it loads, else webgpu on a
 * hardware adapter, else, only when allowed, webgpu on a software adapter
 * (`allowSoftwareGpu`) or the CPU path of select.ts (`allowCpu`: wasm, cpu).
 * Otherwise the worker refuses to start with a `GpuUnavailableError` saying what
 * was tried, what is missing and which flag allows a fallback. The choice is made
 * this process's (`preferBackend`, `preferGpu`), so training threads and the
 * evaluation activity use the same backend and adapter.
 */
import { preferBackend, preferGpu, preferredBackend, preferredGpu, selectBackend, type BackendInfo } from './select.js';
import { chooseAdapter, listGpuAdaptersQuietly, type GpuAdapterInfo } from './webgpu.js';

/** What a gpu worker may fall back to, and the adapter it is pinned to; unset fields come from the environment. */
export interface GpuWorkerOptions {
  /** Train on the CPU path (wasm, cpu) when no GPU backend loads; default `LIGHTPATH_ALLOW_CPU=1`. */
  allowCpu?: boolean;
  /** Train on a software WebGPU adapter (lavapipe, SwiftShader) when no hardware one exists; default `LIGHTPATH_ALLOW_SOFTWARE_GPU=1`. */
  allowSoftwareGpu?: boolean;
  /** Dawn's adapter index to use (one worker per GPU on multi-GPU hosts); default `LIGHTPATH_GPU_ADAPTER`. */
  adapter?: number;
}

/** A gpu worker found no GPU backend and no fallback was allowed. */
export class GpuUnavailableError extends Error {
  override name = 'GpuUnavailableError';
}

const CUDA_NEEDS = 'tfjs-node-gpu needs Linux x64, CUDA 11.2 and cuDNN 8.1, and downloads libtensorflow at install';
const WEBGPU_NEEDS = "webgpu needs the npm package `webgpu` (Dawn), the system's libvulkan.so.1 and a GPU's Vulkan driver";

async function tryCuda(): Promise<string | null> {
  try {
    await import('@tensorflow/tfjs-node-gpu' as string);
    return null;
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  }
}

async function adaptersOrReason(): Promise<{ adapters: GpuAdapterInfo[]; reason?: string }> {
  try {
    return { adapters: await listGpuAdaptersQuietly() };
  } catch (e) {
    return { adapters: [], reason: (e as Error).message.split('\n')[0]! };
  }
}

function refusal(cuda: string, webgpu: string): GpuUnavailableError {
  return new GpuUnavailableError(
    [
      'this gpu worker found no GPU backend:',
      `  tensorflow-gpu: ${cuda} (${CUDA_NEEDS})`,
      `  webgpu: ${webgpu} (${WEBGPU_NEEDS})`,
      'Start it with --allow-software-gpu to train on a software Vulkan adapter (lavapipe), or --allow-cpu to train on the CPU (wasm); `lightpath doctor` shows what each backend found.',
    ].join('\n'),
  );
}

let chosen: Promise<BackendInfo> | null = null;

/**
 * Chooses and initializes this process's gpu-worker backend (once; later calls
 * return the same). A backend forced by `LIGHTPATH_BACKEND` or the plugin is used
 * as is. Throws `GpuUnavailableError` when nothing allowed is found.
 */
export function selectGpuWorkerBackend(options: GpuWorkerOptions = {}): Promise<BackendInfo> {
  chosen ??= (async () => {
    if (preferredBackend()) return selectBackend();
    const env = preferredGpu();
    const allowCpu = options.allowCpu ?? process.env.LIGHTPATH_ALLOW_CPU === '1';
    const cuda = await tryCuda();
    if (cuda === null) {
      preferBackend('tensorflow-gpu');
      return selectBackend();
    }
    const { adapters, reason } = await adaptersOrReason();
    let webgpu = reason ?? '';
    if (!reason) {
      try {
        const adapter = chooseAdapter(adapters, { adapter: options.adapter ?? env.adapter, allowSoftware: options.allowSoftwareGpu ?? env.allowSoftware });
        preferBackend('webgpu');
        preferGpu({ adapter: adapter.index, allowSoftware: adapter.software });
        return selectBackend();
      } catch (e) {
        webgpu = (e as Error).message;
      }
    }
    if (allowCpu) return selectBackend();
    throw refusal(cuda, webgpu);
  })();
  return chosen;
}
