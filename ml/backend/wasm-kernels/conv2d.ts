/**
 * Conv2D gradients for wasm as convolutions run by XNNPACK (the wasm Conv2D
 * kernel). TF.js layouts: x [B,H,W,Cin], filter [kh,kw,Cin,Cout], dy
 * [B,oh,ow,Cout]; forward y[b,o,co] = Σ_{k,ci} x[b, o·s + k·d − padTop, ci] ·
 * W[k,ci,co] per spatial axis (s stride, d dilation). NCHW inputs are
 * transposed to NHWC and back.
 */
import * as tf from '@tensorflow/tfjs';
import { pair, scoped, explicitPad, type Info, type PadAttr, type Rounding, type Scope, type WasmKernelArgs } from './common.js';
import { cropForPad, cropNhwc, permute, spread } from './layout.js';

function conv(s: Scope, x: Info, filter: Info, strides: [number, number], dilations: [number, number], pad: PadAttr): Info {
  return s.run(tf.Conv2D, { x, filter }, { strides, dilations, pad: pad as tf.NamedAttrMap[string], dataFormat: 'NHWC' });
}

function toNhwc(s: Scope, t: Info, dataFormat: unknown): Info {
  return dataFormat === 'NCHW' ? permute(s, t, [0, 2, 3, 1]) : t;
}

/** The padding attribute with an explicit NCHW padding reordered to NHWC. */
function nhwcPad(pad: unknown, dataFormat: unknown): PadAttr {
  if (dataFormat === 'NCHW' && Array.isArray(pad)) {
    const p = pad as [number, number][];
    return [[0, 0], p[2]!, p[3]!, [0, 0]];
  }
  return pad as PadAttr;
}

function nhwcShape(shape: number[], dataFormat: unknown): [number, number, number, number] {
  const [a, b, c, d] = shape as [number, number, number, number];
  return dataFormat === 'NCHW' ? [a, c, d, b] : [a, b, c, d];
}

/**
 * Conv2DBackpropFilter: dW[k,ci,co] = Σ_{b,o} x[b, o·s + k·d − pad, ci] ·
 * dy[b,o,co]. Read with ci as the batch, b as the input channel and dy's
 * spatial extent as the filter, this is itself a convolution:
 * conv2d(xᵀ = transpose(x,[3,1,2,0]) : [Cin,H,W,B],
 *        dyᵀ = transpose(dy,[1,2,0,3]) : filter [oh,ow,B,Cout],
 *        strides = forward dilation, dilations = forward stride,
 *        padding = forward top/left, and the bottom/right that make the output
 *        exactly kh×kw — when that is negative (x has rows the forward pass
 *        never read) no padding, and the extra output rows are cropped)
 * → [Cin,kh,kw,Cout], transposed to [kh,kw,Cin,Cout].
 */
export function conv2DBackpropFilter(args: WasmKernelArgs): Info {
  const { inputs, attrs = {}, backend } = args;
  const filterShape = attrs.filterShape as [number, number, number, number];
  const dataFormat = attrs.dataFormat;
  return scoped(backend, (s) => {
    const x = toNhwc(s, inputs.x!, dataFormat);
    const dy = toNhwc(s, inputs.dy!, dataFormat);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      attrs.strides as [number, number],
      pair(attrs.dilations as number | number[] | undefined),
      nhwcPad(attrs.pad, dataFormat),
      attrs.dimRoundingMode as Rounding,
    );
    const [, h, w] = x.shape as [number, number, number, number];
    const [, oh, ow] = dy.shape as [number, number, number, number];
    const { top, left } = info.padInfo;
    const [kh, kw] = [info.filterHeight, info.filterWidth];
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    const [dh, dw] = [info.dilationHeight, info.dilationWidth];
    const bottom = (kh - 1) * dh + (oh - 1) * sh + 1 - h - top;
    const right = (kw - 1) * dw + (ow - 1) * sw + 1 - w - left;
    const xT = permute(s, x, [3, 1, 2, 0]);
    const dyT = permute(s, dy, [1, 2, 0, 3]);
    const dwT = conv(s, xT, dyT, [dh, dw], [sh, sw], explicitPad(top, Math.max(0, bottom), left, Math.max(0, right)));
    return permute(s, cropNhwc(s, backend, dwT, 0, kh, 0, kw), [1, 2, 0, 3]);
  });
}

/**
 * Conv2DBackpropInput: dx[b,i,ci] = Σ_{o,k: o·s + k·d − pad = i} dy[b,o,co] ·
 * W[k,ci,co]. With dy spread s apart (zeros between rows/columns; nothing to do
 * for stride 1) this is a stride-1 convolution with the spatially flipped filter:
 * conv2d(spread(dy), reverse(W,[0,1]) transposed to [kh,kw,Cout,Cin],
 *        dilations = forward dilation,
 *        padding top = (kh−1)·d − padTop, bottom = H − L + padTop
 *        with L the spread height (likewise for the width);
 *        negative amounts crop dy instead).
 * For stride s this does s² times the minimal multiply-adds (most products hit
 * the inserted zeros), still far less time than the stock scalar loop.
 */
export function conv2DBackpropInput(args: WasmKernelArgs): Info {
  const { inputs, attrs = {}, backend } = args;
  const dataFormat = attrs.dataFormat;
  const inputShape = nhwcShape(attrs.inputShape as number[], dataFormat);
  return scoped(backend, (s) => {
    const dy = toNhwc(s, inputs.dy!, dataFormat);
    const filter = inputs.filter!;
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      attrs.strides as [number, number],
      pair(attrs.dilations as number | number[] | undefined),
      nhwcPad(attrs.pad, dataFormat),
      attrs.dimRoundingMode as Rounding,
    );
    const [, h, w] = inputShape;
    const { top, left } = info.padInfo;
    const [kh, kw] = [info.filterHeight, info.filterWidth];
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    const [dh, dw] = [info.dilationHeight, info.dilationWidth];
    const flipped = permute(s, s.reverse(filter, [0, 1]), [0, 1, 3, 2]);
    const dys = spread(s, backend, dy, sh, sw);
    const [, lh, lw] = dys.shape as [number, number, number, number];
    const c = cropForPad(s, backend, dys, (kh - 1) * dh - top, h - lh + top, (kw - 1) * dw - left, w - lw + left);
    const dx = conv(s, c.x, flipped, [1, 1], [dh, dw], c.pad);
    return dataFormat === 'NCHW' ? permute(s, dx, [0, 3, 1, 2]) : dx;
  });
}
