/**
 * MaxPool and MaxPoolGrad for the wasm backend on the native addon (pool.c):
 * one pass over the input each, NHWC float32, the cpu backend's rules for
 * padding, NaNs and ties. Other dtypes go to the wasm kernels.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heap, pair, stockKernel, type Info, type PadAttr, type Rounding, type WasmKernelArgs, type WasmKernelFunc } from '../wasm-kernels/common.js';
import { maxPoolGrad } from '../wasm-kernels/pool.js';
import type { NativeBlas } from './addon.js';

/** The addon's pooling geometry for input shape `xShape` and the kernel's attributes, and the output shape. */
function geometry(xShape: number[], attrs: tf.NamedAttrMap): { geometry: Int32Array; outShape: number[] } {
  const info = tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    pair(attrs.filterSize as number | number[]),
    pair(attrs.strides as number | number[]),
    1,
    attrs.pad as PadAttr,
    attrs.dimRoundingMode as Rounding,
  );
  const g = [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth];
  g.push(info.effectiveFilterHeight, info.effectiveFilterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left);
  return { geometry: Int32Array.from(g), outShape: info.outShape };
}

const f32 = (backend: BackendWasm, info: Info) => heap(backend, info) as Float32Array;

/** The MaxPool kernel function on `blas`. */
export function nativeMaxPool(blas: NativeBlas): WasmKernelFunc {
  return (args: WasmKernelArgs) => {
    const { inputs, attrs = {}, backend } = args;
    const x = inputs.x!;
    if (x.dtype !== 'float32') return stockKernel(tf.MaxPool)!(args);
    const g = geometry(x.shape, attrs);
    const out = backend.makeOutput(g.outShape, 'float32');
    blas.maxPool(f32(backend, x), f32(backend, out), g.geometry);
    return out;
  };
}

/** The MaxPoolGrad kernel function on `blas`. */
export function nativeMaxPoolGrad(blas: NativeBlas): WasmKernelFunc {
  return (args: WasmKernelArgs) => {
    const { inputs, attrs = {}, backend } = args;
    const x = inputs.input!;
    const dy = inputs.dy!;
    if (x.dtype !== 'float32' || dy.dtype !== 'float32') return maxPoolGrad(args);
    const g = geometry(x.shape, attrs);
    const out = backend.makeOutput(x.shape, 'float32');
    blas.maxPoolGrad(f32(backend, x), f32(backend, dy), f32(backend, out), g.geometry);
    return out;
  };
}
