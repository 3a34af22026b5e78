/**
 * What each backend finds on this machine, for `lightpath doctor`: whether
 * tfjs-node-gpu and tfjs-node load (and why not), the WebGPU adapters Dawn sees
 * (hardware or software), wasm's SIMD and threads, the native BLAS provider's
 * status, and what a gpu worker would choose. Probing imports modules and
 * enumerates adapters but sets no TF.js backend.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeBlas, type BlasCore } from './native/addon.js';
import { preferredGpu } from './select.js';
import { chooseAdapter, listGpuAdapters, type GpuAdapterInfo } from './webgpu.js';

/** Whether a backend loads, and the reason when it does not. */
export interface LoadProbe {
  ok: boolean;
  detail: string;
}

/** Everything `probeBackends` found. */
export interface BackendProbe {
  tensorflowGpu: LoadProbe;
  tensorflow: LoadProbe;
  webgpu: LoadProbe & { adapters: GpuAdapterInfo[] };
  wasm: LoadProbe & { simd: boolean; threads: boolean };
  /** The native BLAS provider, with the OpenBLAS core in use and how it was chosen. */
  native: LoadProbe & { core?: BlasCore };
  /** What `lightpath worker --role gpu` would train on, without fallback flags. */
  gpuWorker: string;
}

async function importProbe(module: string, okDetail: string): Promise<LoadProbe> {
  try {
    await import(module);
    return { ok: true, detail: okDetail };
  } catch (e) {
    return { ok: false, detail: (e as Error).message.split('\n')[0]! };
  }
}

async function webgpuProbe(): Promise<BackendProbe['webgpu']> {
  try {
    const adapters = await listGpuAdapters();
    const hardware = adapters.filter((a) => !a.software).length;
    return { ok: adapters.length > 0, adapters, detail: adapters.length ? `${adapters.length} adapter(s), ${hardware} hardware` : 'Dawn loads but finds no adapter (no Vulkan driver?)' };
  } catch (e) {
    return { ok: false, adapters: [], detail: `Dawn cannot load: ${(e as Error).message.split('\n')[0]}` };
  }
}

async function wasmProbe(): Promise<BackendProbe['wasm']> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
    const threads = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) === true;
    return { ok: true, simd, threads, detail: `SIMD ${simd ? 'yes' : 'no'}, threads ${threads ? 'yes' : 'no'}` };
  } catch (e) {
    return { ok: false, simd: false, threads: false, detail: (e as Error).message.split('\n')[0]! };
  }
}

function gpuWorkerChoice(p: Omit<BackendProbe, 'gpuWorker'>): string {
  if (p.tensorflowGpu.ok) return 'tensorflow-gpu (CUDA)';
  try {
    const a = chooseAdapter(p.webgpu.adapters, preferredGpu());
    return `webgpu on #${a.index} ${a.name}${a.software ? ' (software)' : ''}`;
  } catch (e) {
    return `refuses to start without --allow-software-gpu or --allow-cpu (${(e as Error).message})`;
  }
}

/** Probes every backend; never throws. */
export async function probeBackends(): Promise<BackendProbe> {
  const found = {
    tensorflowGpu: await importProbe('@tensorflow/tfjs-node-gpu', 'loads (CUDA)'),
    tensorflow: await importProbe('@tensorflow/tfjs-node', 'loads (CPU)'),
    webgpu: await webgpuProbe(),
    wasm: await wasmProbe(),
    native: (({ active, detail, core }) => ({ ok: active, detail, ...(core ? { core } : {}) }))(nativeBlas()),
  };
  return { ...found, gpuWorker: gpuWorkerChoice(found) };
}
