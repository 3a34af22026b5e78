/**
 * The WebGPU backend in Node: TF.js's `@tensorflow/tfjs-backend-webgpu` on Dawn's
 * Node bindings (npm `webgpu`, a prebuilt `dawn.node` that needs the system's
 * `libvulkan.so.1` and a Vulkan driver). TF.js checks `navigator.gpu` when its
 * module is imported, so the GPU is created first and the backend imported after;
 * the backend is then registered on the adapter chosen here. Hardware adapters are
 * preferred; a software one (lavapipe/llvmpipe, SwiftShader) only when allowed.
 * Readback on this backend must be asynchronous: `dataSync`/`arraySync` throw
 * `OffscreenCanvas is not defined` in Node.
 */
import * as tf from '@tensorflow/tfjs';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What the adapter says about itself, as runs record it. */
export interface GpuAdapterInfo {
  /** Position in Dawn's adapter list (`--gpu <n>` / `LIGHTPATH_GPU_ADAPTER`). */
  index: number;
  /** Dawn's adapter name (the device name). */
  name: string;
  /** Dawn's graphics API under WebGPU (vulkan on Linux). */
  api: string;
  vendor: string;
  architecture: string;
  device: string;
  /** On Vulkan, the driver and its version (e.g. `NVIDIA: 550.54.14`, `llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)`). */
  description: string;
  /** A CPU implementation (lavapipe/llvmpipe, SwiftShader) rather than a GPU. */
  software: boolean;
}

/** Which adapter to use: an index into Dawn's list, and whether a software adapter may be chosen. */
export interface GpuOptions {
  adapter?: number;
  allowSoftware?: boolean;
}

/** The part of WebGPU's adapter info lightpath reads. */
interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter?: boolean;
}

/** The part of a WebGPU adapter lightpath uses (the `webgpu` package types it with `@webgpu/types`, an optional dependency here). */
interface Adapter {
  info: AdapterInfo;
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestDevice(descriptor: { requiredFeatures: string[]; requiredLimits: Record<string, number> }): Promise<unknown>;
}

interface Gpu {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<Adapter | null>;
}

interface DawnModule {
  create(flags: string[]): Gpu;
  globals: Record<string, unknown>;
}

/** The limits TF.js's own registration raises to the adapter's (tfjs-backend-webgpu base.js). */
const DEVICE_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
];

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software/i;

let dawn: Promise<DawnModule> | null = null;

/** Loads Dawn's Node bindings once and installs the WebGPU globals (GPUBufferUsage…) TF.js uses. */
function loadDawn(): Promise<DawnModule> {
  dawn ??= import('webgpu' as string).then((m: DawnModule) => {
    Object.assign(globalThis, m.globals);
    return m;
  });
  return dawn;
}

/** Whether `info` describes a software adapter (the fallback adapter, or a CPU rasterizer by name). */
export function isSoftwareAdapter(info: Partial<AdapterInfo>, fallback = false): boolean {
  return fallback || SOFTWARE.test([info.vendor, info.architecture, info.device, info.description].join(' '));
}

/** Dawn's adapter list, parsed from the error it gives for an adapter name no adapter has. */
async function adapterNames(m: DawnModule): Promise<{ api: string; name: string }[]> {
  const message = await m
    .create(['adapter=\u0001lightpath-no-such-adapter'])
    .requestAdapter()
    .then(
      () => '',
      (e: Error) => e.message,
    );
  return [...message.matchAll(/\* backend: '([^']*)', name: '([^']*)'/g)].map(([, api, name]) => ({ api: api!, name: name! }));
}

function describe(adapter: Adapter, index: number, entry: { api: string; name: string }): GpuAdapterInfo {
  const info = adapter.info;
  return {
    index,
    name: entry.name,
    api: entry.api,
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software: isSoftwareAdapter(info, info.isFallbackAdapter === true),
  };
}

/** A GPU object and adapter for Dawn's adapter `entry` (by name: Dawn picks the first adapter whose name contains it). */
async function openAdapter(m: DawnModule, entry: { name: string }): Promise<{ gpu: Gpu; adapter: Adapter }> {
  const gpu = m.create([`adapter=${entry.name}`]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error(`Dawn returned no adapter named ${entry.name}`);
  return { gpu, adapter };
}

/**
 * Every adapter Dawn finds, with its info; throws with the reason when Dawn's
 * bindings cannot load (the `webgpu` package or `libvulkan.so.1` missing).
 */
export async function listGpuAdapters(): Promise<GpuAdapterInfo[]> {
  const m = await loadDawn();
  const entries = await adapterNames(m);
  const out: GpuAdapterInfo[] = [];
  for (const [index, entry] of entries.entries()) {
    out.push(describe((await openAdapter(m, entry)).adapter, index, entry));
  }
  return out;
}

/** The prefix of the line webgpu-list.ts answers with. */
export const ADAPTERS_MARK = 'lightpath-adapters:';

/**
 * `listGpuAdapters` in a child process (webgpu-list.ts), whose output is dropped
 * but for its answer: Dawn and the Vulkan loader print warnings while they
 * enumerate ("Couldn't load…", lavapipe's limits), which a worker that ends up
 * training on the CPU should not show. Throws as `listGpuAdapters` does.
 */
export async function listGpuAdaptersQuietly(): Promise<GpuAdapterInfo[]> {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(`./webgpu-list.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  const args = [...(fromSource ? ['--import', import.meta.resolve('tsx')] : []), entry];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, args, { encoding: 'utf8', timeout: 120_000, maxBuffer: 16 * 2 ** 20 }, (err, out) => (err && !out.includes(ADAPTERS_MARK) ? reject(err) : resolve(out)));
  });
  const line = stdout.split('\n').find((l) => l.startsWith(ADAPTERS_MARK));
  if (!line) throw new Error('Dawn cannot load: the adapter listing gave no answer');
  const answer = JSON.parse(line.slice(ADAPTERS_MARK.length)) as { adapters?: GpuAdapterInfo[]; error?: string };
  if (answer.error !== undefined) throw new Error(answer.error);
  return answer.adapters!;
}

/** The adapter `options` ask for: the pinned index, else the first hardware one, else (when allowed) a software one. */
export function chooseAdapter(adapters: GpuAdapterInfo[], options: GpuOptions): GpuAdapterInfo {
  const list = adapters.map((a) => `#${a.index} ${a.name}${a.software ? ' (software)' : ''}`).join(', ') || 'none';
  if (options.adapter !== undefined) {
    const pinned = adapters[options.adapter];
    if (!pinned) throw new Error(`GPU adapter #${options.adapter} does not exist (Dawn found: ${list})`);
    if (adapters.some((a) => a !== pinned && a.name === pinned.name)) {
      throw new Error(
        `GPU adapter #${options.adapter} (${pinned.name}) cannot be pinned: ${adapters.filter((a) => a.name === pinned.name).length} adapters share its name; give each worker one GPU at the container or driver level and pin #0`,
      );
    }
    if (pinned.software && !options.allowSoftware)
      throw new Error(`GPU adapter #${pinned.index} (${pinned.name}) is a software adapter; allow it with --allow-software-gpu (LIGHTPATH_ALLOW_SOFTWARE_GPU=1)`);
    return pinned;
  }
  const chosen = adapters.find((a) => !a.software) ?? (options.allowSoftware ? adapters[0] : undefined);
  if (!chosen) throw new Error(`no hardware GPU adapter (Dawn found: ${list}); a software adapter needs --allow-software-gpu (LIGHTPATH_ALLOW_SOFTWARE_GPU=1)`);
  return chosen;
}

/**
 * Makes TF.js's WebGPU backend run on the adapter `options` choose and sets it as
 * the backend; returns that adapter's info.
 */
export async function loadWebGpu(options: GpuOptions): Promise<GpuAdapterInfo> {
  const m = await loadDawn();
  const chosen = chooseAdapter(await listGpuAdapters(), options);
  const { gpu, adapter } = await openAdapter(m, chosen);
  const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: Gpu };
  nav.gpu = gpu;
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  tf.removeBackend('webgpu');
  const requiredLimits = Object.fromEntries(DEVICE_LIMITS.map((k) => [k, adapter.limits[k]!]));
  tf.registerBackend(
    'webgpu',
    async () => {
      const device = await adapter.requestDevice({ requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [], requiredLimits });
      return new WebGPUBackend(device as ConstructorParameters<typeof WebGPUBackend>[0], adapter.info as ConstructorParameters<typeof WebGPUBackend>[1]);
    },
    3,
  );
  if (!(await tf.setBackend('webgpu'))) throw new Error(`the webgpu backend failed to initialize on ${chosen.name}`);
  return chosen;
}

/** One line naming an adapter: vendor, architecture, device and driver (its description); `software` when it is one. */
export function adapterLabel(a: GpuAdapterInfo): string {
  return [[a.vendor, a.architecture, a.device].filter((p) => p).join(' '), a.description, a.software ? 'software' : ''].filter((p) => p).join('; ');
}
