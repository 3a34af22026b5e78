/**
 * Identity for wasm without a copy. The stock kernel copies the tensor; TF.js
 * tensors are immutable, so the output can share the input's data with its
 * reference count raised, as the cpu backend's Identity and every backend's
 * Reshape do. Identity runs on every `tf.clone`, including each tensor a custom
 * gradient (fused conv2d / matMul) saves for its backward pass.
 */
import { type Info, type WasmKernelArgs } from './common.js';

/** The Identity kernel function. */
export function identity(args: WasmKernelArgs): Info {
  const x = args.inputs.x!;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}
