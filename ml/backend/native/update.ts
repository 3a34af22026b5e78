/**
 * The fused optimizer updates (fused-ops.ts's `ADAMW_UPDATE`, `SGD_UPDATE`) for
 * the wasm backend on the native addon (optimizer.c): one addon call per step
 * over all variables, updating the slots in place on the wasm heap and the weights into new tensors.
 *
 * Slots are updated in place, copy-on-write: a slot whose data no other tensor
 * shares (the backend's reference count is 1: the variable alone) is updated
 * where it lies, and its output shares its data, as Identity's does; one whose
 * data is shared is copied to a new tensor first, so no other tensor sees the
 * update. Weights always get a new tensor: the wasm backend's XNNPACK kernels
 * (FusedConv2D, depthwise convolutions) keep weights packed per tensor, so a
 * weight changed where it lies would leave them computing with its old values.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { Info, WasmAnyKernelFunc, WasmKernelArgs } from '../wasm-kernels/common.js';
import { heap } from '../wasm-kernels/common.js';
import type { NativeBlas } from './addon.js';

/** `t` itself where no other tensor shares its data, else a new copy of it. */
function writable(backend: BackendWasm, t: Info): Info {
  if (backend.refCount(t.dataId) === 1) {
    backend.incRef(t.dataId);
    return { dataId: t.dataId, shape: [...t.shape], dtype: t.dtype };
  }
  const copy = backend.makeOutput(t.shape, 'float32');
  (heap(backend, copy) as Float32Array).set(heap(backend, t) as Float32Array);
  return copy;
}

/** One variable's part of an update: its weights, gradient, writable slots and the array for its new weights. */
export interface UpdateGroup {
  w: Info;
  g: Info;
  slots: Info[];
  next: Info;
}

/** The optimizers with a fused update, and how many slots each keeps. */
export const UPDATE_SLOTS = { adamw: 2, sgd: 1 } as const;

/** Allocates a variable's update outputs (slots copied where shared, see the top of this file); allocations may move the heap. */
export function updateGroup(backend: BackendWasm, w: Info, g: Info, slots: Info[]): UpdateGroup {
  return { w, g, slots: slots.map((t) => writable(backend, t)), next: backend.makeOutput(w.shape, 'float32') };
}

/**
 * Runs the fused update of `optimizer` over `groups` with `params` (as
 * ml/train/optimizer.ts sets them); returns each variable's new weights and
 * slots, flat. Call it after the kernel's last allocation: it takes heap views.
 */
export function runUpdate(blas: NativeBlas, backend: BackendWasm, optimizer: keyof typeof UPDATE_SLOTS, groups: UpdateGroup[], params: number[]): Info[] {
  const views = groups.flatMap(({ w, g, slots, next }) => [w, g, ...slots, next].map((t) => heap(backend, t) as Float32Array));
  const p = Float64Array.from(params);
  if (optimizer === 'adamw') blas.adamw(views, p);
  else blas.sgdMomentum(views, p);
  return groups.flatMap(({ slots, next }) => [next, ...slots]);
}

/** The update kernel function of `optimizer` on `blas`: per variable inputs w, g, then the slots. */
function updateKernel(blas: NativeBlas, optimizer: keyof typeof UPDATE_SLOTS): WasmAnyKernelFunc {
  const per = 2 + UPDATE_SLOTS[optimizer];
  return ({ inputs, attrs = {}, backend }: WasmKernelArgs): Info[] => {
    const count = attrs.variables as number;
    const ins = Array.from({ length: count * per }, (_, i) => inputs[`t${i}`]!);
    if (ins.some((t) => t.dtype !== 'float32')) throw new Error('fused optimizer update: every variable, gradient and slot must be float32');
    const groups = Array.from({ length: count }, (_, k) => {
      const [w, g, ...slots] = ins.slice(k * per, (k + 1) * per);
      return updateGroup(backend, w!, g!, slots);
    });
    return runUpdate(blas, backend, optimizer, groups, attrs.params as number[]);
  };
}

/** The fused AdamW update kernel function on `blas`. */
export function nativeAdamWUpdate(blas: NativeBlas): WasmAnyKernelFunc {
  return updateKernel(blas, 'adamw');
}

/** The fused SGD-momentum update kernel function on `blas`. */
export function nativeSgdUpdate(blas: NativeBlas): WasmAnyKernelFunc {
  return updateKernel(blas, 'sgd');
}
