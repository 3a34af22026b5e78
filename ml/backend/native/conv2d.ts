/**
 * Conv2D and its two gradients for the wasm backend on the native BLAS addon:
 * im2col + OpenBLAS sgemm in one addon call each (conv.c), reading the operands
 * from the wasm heap and writing a new wasm tensor. NHWC float32 only; NCHW and
 * other dtypes go to the wasm kernels (stock Conv2D, lightpath's gradients).
 * Also fused-ops.ts's `CONV_BIAS_RELU`: the forward product with the bias and
 * ReLU applied in place, one pass instead of the Add and Relu kernels'.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heap, pair, stockKernel, type Info, type PadAttr, type Rounding, type WasmKernelArgs, type WasmKernelFunc } from '../wasm-kernels/common.js';
import { conv2DBackpropFilter, conv2DBackpropInput } from '../wasm-kernels/conv2d.js';
import type { NativeBlas } from './addon.js';

/** The addon's conv2d modes. */
const FORWARD = 0;
const FILTER_GRAD = 1;
const INPUT_GRAD = 2;

type Shape4 = [number, number, number, number];

/** The addon's geometry array of a convolution of `xShape` with `filterShape`, and the output shape. */
function geometry(xShape: number[], filterShape: number[], attrs: tf.NamedAttrMap): { geometry: Int32Array; outShape: Shape4 } {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    attrs.strides as [number, number],
    pair(attrs.dilations as number | number[] | undefined),
    attrs.pad as PadAttr,
    attrs.dimRoundingMode as Rounding,
  );
  const g = [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels];
  g.push(info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left);
  return { geometry: Int32Array.from(g), outShape: info.outShape as Shape4 };
}

const f32 = (backend: BackendWasm, info: Info) => heap(backend, info) as Float32Array;

const nativeCase = (a: Info, b: Info, attrs: tf.NamedAttrMap) => a.dtype === 'float32' && b.dtype === 'float32' && attrs.dataFormat !== 'NCHW';

/** Shapes of a convolution's input, filter and (where not the convolution's output) the kernel's output. */
type Shapes = (a: Info, b: Info, attrs: tf.NamedAttrMap) => [x: number[], filter: number[], out: number[] | null];

/** A kernel function running the addon's conv2d `mode` on inputs `names`; other cases go to `fallback`. */
function convKernel(blas: NativeBlas, mode: number, names: [string, string], fallback: WasmKernelFunc, shapes: Shapes): WasmKernelFunc {
  return (args: WasmKernelArgs) => {
    const { inputs, attrs = {}, backend } = args;
    const a = inputs[names[0]]!;
    const b = inputs[names[1]]!;
    if (!nativeCase(a, b, attrs)) return fallback(args);
    const [xShape, filterShape, outShape] = shapes(a, b, attrs);
    const g = geometry(xShape, filterShape, attrs);
    const out = backend.makeOutput(outShape ?? g.outShape, 'float32');
    blas.conv2d(mode, f32(backend, a), f32(backend, b), f32(backend, out), g.geometry);
    return out;
  };
}

/** The Conv2D kernel function on `blas`. */
export function nativeConv2D(blas: NativeBlas): WasmKernelFunc {
  return convKernel(
    blas,
    FORWARD,
    ['x', 'filter'],
    (args) => stockKernel(tf.Conv2D)!(args),
    (x, filter) => [x.shape, filter.shape, null],
  );
}

/** The Conv2DBackpropFilter kernel function on `blas`. */
export function nativeConv2DBackpropFilter(blas: NativeBlas): WasmKernelFunc {
  return convKernel(blas, FILTER_GRAD, ['x', 'dy'], conv2DBackpropFilter, (x, _dy, attrs) => [x.shape, attrs.filterShape as number[], attrs.filterShape as number[]]);
}

/** The Conv2DBackpropInput kernel function on `blas`. */
export function nativeConv2DBackpropInput(blas: NativeBlas): WasmKernelFunc {
  return convKernel(blas, INPUT_GRAD, ['dy', 'filter'], conv2DBackpropInput, (_dy, filter, attrs) => [attrs.inputShape as number[], filter.shape, attrs.inputShape as number[]]);
}

/** fused-ops.ts's `CONV_BIAS_RELU` kernel function on `blas`: the Conv2D product and bias + ReLU in one addon call (a small patch's output rows written once, as they are summed; NHWC float32, as fused-layers.ts calls it). */
export function nativeConv2DBiasRelu(blas: NativeBlas): WasmKernelFunc {
  return ({ inputs, attrs = {}, backend }: WasmKernelArgs) => {
    const { x, filter, bias } = inputs;
    if (!nativeCase(x!, filter!, attrs) || bias!.dtype !== 'float32') throw new Error('conv2d + bias + relu: needs float32 NHWC operands');
    const g = geometry(x!.shape, filter!.shape, attrs);
    if (bias!.shape.length !== 1 || bias!.shape[0] !== g.outShape[3]) throw new Error(`conv2d + bias + relu: bias must be [${g.outShape[3]}], got [${bias!.shape}]`);
    const out = backend.makeOutput(g.outShape, 'float32');
    const y = f32(backend, out);
    blas.conv2dBiasRelu(f32(backend, x!), f32(backend, filter!), f32(backend, bias!), y, g.geometry);
    return out;
  };
}
