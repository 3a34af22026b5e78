/**
 * Shared plumbing for the wasm training kernels: calling other wasm kernels from
 * inside a kernel, freeing intermediates, and conv/pool attribute decoding.
 *
 * A kernel here works on `TensorInfo`s (dataId + shape), never on `tf.Tensor`s:
 * it calls the backend's registered kernel functions directly, as the wasm
 * backend's own composite kernels do. Nothing it does passes through the engine,
 * so it neither records onto the gradient tape nor creates tracked tensors; the
 * only thing to get right is to free every intermediate with
 * `backend.disposeData` (a `Scope` does that), so that `tf.memory()` and the
 * engine's leak check (`checkKernelForMemLeak`) see exactly one new data id per
 * output.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** Tensor metadata as kernels see it. */
export type Info = tf.TensorInfo;

/** The argument every wasm kernel function receives. */
export interface WasmKernelArgs {
  inputs: tf.NamedTensorInfoMap;
  attrs?: tf.NamedAttrMap;
  backend: BackendWasm;
}

/** A kernel function of the wasm backend returning one output. */
export type WasmKernelFunc = (args: WasmKernelArgs) => Info;

/** A kernel function of the wasm backend returning one output or several. */
export type WasmAnyKernelFunc = (args: WasmKernelArgs) => Info | Info[];

/** Explicit padding in TF.js's NHWC form: [[0,0],[top,bottom],[left,right],[0,0]]. */
export type ExplicitPad = [[number, number], [number, number], [number, number], [number, number]];

/** The padding attribute as kernels receive it. */
export type PadAttr = 'same' | 'valid' | number | ExplicitPad;

/** A dimension-rounding mode attribute. */
export type Rounding = 'floor' | 'round' | 'ceil' | undefined;

const stock = new Map<string, tf.KernelConfig>();
const captured = new Set<string>();

/**
 * Remembers the kernel currently registered under `name` for wasm as the stock
 * implementation, so it can still be called after it is replaced. Safe to call
 * again: the first capture wins, also when it found no kernel (so a kernel
 * lightpath added is never taken for a stock one).
 */
export function captureStock(name: string): void {
  if (captured.has(name)) return;
  captured.add(name);
  const k = tf.getKernel(name, 'wasm');
  if (k) stock.set(name, k);
}

/**
 * The captured stock kernel config `name`, or undefined when the backend had
 * none. Its `setupFunc` must stay registered with the replacement: the backend
 * runs the setup functions of the registered kernels when it (re)initializes,
 * and the stock kernel functions only work once theirs has run.
 */
export function stockConfig(name: string): tf.KernelConfig | undefined {
  return stock.get(name);
}

/** True when the wasm kernel registered as `name` carries `mark`. */
export function hasMark(name: string, mark: symbol): boolean {
  const k = tf.getKernel(name, 'wasm');
  return k != null && mark in (k.kernelFunc as object);
}

/**
 * Registers `func` as the wasm kernel `name` in place of whatever is registered
 * now, marked with `mark` (see `hasMark`), keeping the stock kernel's setup and
 * dispose functions (captured here first).
 */
export function registerMarked(name: string, func: WasmAnyKernelFunc, mark: symbol): void {
  captureStock(name);
  if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
  const kernelFunc = Object.assign(((args: WasmKernelArgs) => func(args)) as unknown as tf.KernelFunc, { [mark]: true });
  const { setupFunc, disposeFunc } = stockConfig(name) ?? {};
  tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc, setupFunc, disposeFunc });
}

/** The captured stock kernel `name`, or null when the backend had none. */
export function stockKernel(name: string): WasmKernelFunc | null {
  const f = stock.get(name)?.kernelFunc;
  return f ? (f as unknown as WasmKernelFunc) : null;
}

function kernelFunc(name: string): WasmKernelFunc {
  const s = stock.get(name);
  if (s) return s.kernelFunc as unknown as WasmKernelFunc;
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm kernel ${name} is not registered`);
  return k.kernelFunc as unknown as WasmKernelFunc;
}

/**
 * Runs kernels on the wasm backend and frees what they produced when disposed,
 * except the infos handed out with `keep`. Kernels are looked up by name: the
 * stock implementation where one was captured, otherwise what is registered now.
 */
export class Scope {
  private readonly infos: Info[] = [];

  constructor(readonly backend: BackendWasm) {}

  /** Runs kernel `name` and tracks its output. */
  run(name: string, inputs: Record<string, Info>, attrs: tf.NamedAttrMap = {}): Info {
    const out = kernelFunc(name)({ inputs, attrs, backend: this.backend });
    this.infos.push(out);
    return out;
  }

  /** Tracks an info produced elsewhere (e.g. by `backend.makeOutput`). */
  track(info: Info): Info {
    this.infos.push(info);
    return info;
  }

  /** Stops tracking `info` (it becomes the caller's output). */
  keep(info: Info): Info {
    const i = this.infos.lastIndexOf(info);
    if (i >= 0) this.infos.splice(i, 1);
    return info;
  }

  /** Frees every tracked info. */
  dispose(): void {
    for (const info of this.infos) this.backend.disposeData(info.dataId);
    this.infos.length = 0;
  }

  /** Reshape (shares x's data). */
  reshape(x: Info, shape: number[]): Info {
    return this.run(tf.Reshape, { x }, { shape });
  }

  /** The wasm Transpose kernel as is (see `permute` in layout.ts for the rank-reducing form). */
  transpose(x: Info, perm: number[]): Info {
    return this.run(tf.Transpose, { x }, { perm });
  }

  /** Reverse along `dims`. */
  reverse(x: Info, dims: number[]): Info {
    return this.run(tf.Reverse, { x }, { dims });
  }
}

/** Runs `body` in a fresh scope; everything but the returned info is freed, also on error. */
export function scoped(backend: BackendWasm, body: (s: Scope) => Info): Info {
  const s = new Scope(backend);
  try {
    return s.keep(body(s));
  } finally {
    s.dispose();
  }
}

/** A `[h, w]` pair from a number or pair attribute. */
export function pair(v: number | number[] | undefined, dflt = 1): [number, number] {
  if (v == null) return [dflt, dflt];
  if (typeof v === 'number') return [v, v];
  return [v[0] ?? dflt, v[1] ?? v[0] ?? dflt];
}

/** Explicit NHWC padding for a conv2d kernel call. */
export function explicitPad(top: number, bottom: number, left: number, right: number): ExplicitPad {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

/** A heap view of `info` valid until the next wasm allocation. */
export function heap(backend: BackendWasm, info: Info): Float32Array | Int32Array | Uint8Array {
  return backend.typedArrayFromHeap(info) as Float32Array | Int32Array | Uint8Array;
}
