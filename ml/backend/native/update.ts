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

/**
 * A kernel function over `per` float32 inputs per variable (w, g, then the
 * slots): `run` gets each variable's inputs followed by a new array for its
 * weights, updates the slots in place and writes the new weights; the kernel
 * returns the new weights and the slots.
 */
function updateKernel(per: number, run: (tensors: Float32Array[], params: Float64Array) => void): WasmAnyKernelFunc {
  return ({ inputs, attrs = {}, backend }: WasmKernelArgs): Info[] => {
    const count = attrs.variables as number;
    const ins = Array.from({ length: count * per }, (_, i) => inputs[`t${i}`]!);
    if (ins.some((t) => t.dtype !== 'float32')) throw new Error('fused optimizer update: every variable, gradient and slot must be float32');
    const groups = Array.from({ length: count }, (_, k) => {
      const [w, g, ...slots] = ins.slice(k * per, (k + 1) * per);
      return { w: w!, g: g!, slots: slots.map((t) => writable(backend, t)), next: backend.makeOutput(w!.shape, 'float32') };
    });
    // Heap views after the last allocation (an allocation may move the heap).
    run(
      groups.flatMap(({ w, g, slots, next }) => [w, g, ...slots, next].map((t) => heap(backend, t) as Float32Array)),
      Float64Array.from(attrs.params as number[]),
    );
    return groups.flatMap(({ slots, next }) => [next, ...slots]);
  };
}

/** The fused AdamW update kernel function on `blas`. */
export function nativeAdamWUpdate(blas: NativeBlas): WasmAnyKernelFunc {
  return updateKernel(4, (t, p) => blas.adamw(t, p));
}

/** The fused SGD-momentum update kernel function on `blas`. */
export function nativeSgdUpdate(blas: NativeBlas): WasmAnyKernelFunc {
  return updateKernel(3, (t, p) => blas.sgdMomentum(t, p));
}
