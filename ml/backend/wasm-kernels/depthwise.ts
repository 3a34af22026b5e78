/**
 * DepthwiseConv2dNative gradients for wasm (the backend has neither) as
 * depthwise convolutions run by XNNPACK. Layouts: x [B,H,W,C], filter
 * [kh,kw,C,M] (M the channel multiplier), dy [B,oh,ow,C·M]; forward
 * y[b,o,c·M+m] = Σ_k x[b, o·s + k·d − padTop, c] · W[k,c,m] per spatial axis.
 */
import * as tf from '@tensorflow/tfjs';
import { explicitPad, pair, scoped, type Info, type PadAttr, type Rounding, type Scope, type WasmKernelArgs } from './common.js';
import { cropForPad, cropNhwc, permute, spread, sumMiddle } from './layout.js';

function depthwise(s: Scope, x: Info, filter: Info, strides: [number, number], dilations: [number, number], pad: PadAttr): Info {
  return s.run(tf.DepthwiseConv2dNative, { x, filter }, { strides, dilations, pad: pad as tf.NamedAttrMap[string], dataFormat: 'NHWC' });
}

function convInfo(xShape: number[], filterShape: number[], attrs: tf.NamedAttrMap): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    pair(attrs.dilations as number | number[] | undefined),
    attrs.pad as PadAttr,
    attrs.dimRoundingMode as Rounding,
    true,
  );
}

/**
 * DepthwiseConv2dNativeBackpropFilter: dW[k,c,m] = Σ_{b,o} x[b, o·s + k·d − pad, c]
 * · dy[b,o,c·M+m]. Folding the batch into the channels makes it one depthwise
 * convolution whose filter is dy:
 * depthwise(x as [1,H,W,B·C] (transpose [1,2,0,3]),
 *           dy as filter [oh,ow,B·C,M] (transpose [1,2,0,3]),
 *           strides = forward dilation, dilations = forward stride,
 *           padding = forward top/left and the bottom/right that make the
 *           output exactly kh×kw, or none and a cropped output where negative)
 * → [1,kh,kw,B·C·M] = [kh·kw,B,C·M], summed over B (`sumMiddle`) → [kh,kw,C,M].
 */
export function depthwiseConv2dNativeBackpropFilter(args: WasmKernelArgs): Info {
  const { inputs, attrs = {}, backend } = args;
  const x = inputs.x!;
  const dy = inputs.dy!;
  const filterShape = attrs.filterShape as [number, number, number, number];
  return scoped(backend, (s) => {
    const info = convInfo(x.shape, filterShape, attrs);
    const [b, h, w, c] = x.shape as [number, number, number, number];
    const [, oh, ow] = dy.shape as [number, number, number, number];
    const [kh, kw, , m] = filterShape;
    const { top, left } = info.padInfo;
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    const [dh, dw] = [info.dilationHeight, info.dilationWidth];
    const bottom = (kh - 1) * dh + (oh - 1) * sh + 1 - h - top;
    const right = (kw - 1) * dw + (ow - 1) * sw + 1 - w - left;
    const xT = s.reshape(permute(s, x, [1, 2, 0, 3]), [1, h, w, b * c]);
    const dyT = s.reshape(permute(s, s.reshape(dy, [b, oh, ow, c * m]), [1, 2, 0, 3]), [oh, ow, b * c, m]);
    const full = depthwise(s, xT, dyT, [dh, dw], [sh, sw], explicitPad(top, Math.max(0, bottom), left, Math.max(0, right)));
    const out = cropNhwc(s, backend, full, 0, kh, 0, kw);
    return b === 1 ? s.reshape(out, filterShape) : s.track(sumMiddle(backend, out, kh * kw, b, c * m, filterShape));
  });
}

/**
 * DepthwiseConv2dNativeBackpropInput: dx[b,i,c] = Σ_{m,o,k: o·s + k·d − pad = i}
 * dy[b,o,c·M+m] · W[k,c,m]. As for Conv2D, a stride-1 depthwise convolution of
 * dy spread s apart with the spatially flipped filter, one input channel per
 * (c,m):
 * depthwise(spread(dy) [B,L,L',C·M], reverse(W,[0,1]) as [kh,kw,C·M,1],
 *           dilations = forward dilation,
 *           padding top = (kh−1)·d − padTop, bottom = H − L + padTop, …)
 * → [B,H,W,C·M], summed over m when M > 1.
 */
export function depthwiseConv2dNativeBackpropInput(args: WasmKernelArgs): Info {
  const { inputs, attrs = {}, backend } = args;
  const dy = inputs.dy!;
  const filter = inputs.filter!;
  const inputShape = attrs.inputShape as [number, number, number, number];
  return scoped(backend, (s) => {
    const info = convInfo(inputShape, filter.shape, attrs);
    const [b, h, w, c] = inputShape;
    const [kh, kw, , m] = filter.shape as [number, number, number, number];
    const { top, left } = info.padInfo;
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    const [dh, dw] = [info.dilationHeight, info.dilationWidth];
    const flipped = s.reshape(s.reverse(filter, [0, 1]), [kh, kw, c * m, 1]);
    const dys = spread(s, backend, dy, sh, sw);
    const [, lh, lw] = dys.shape as [number, number, number, number];
    const cr = cropForPad(s, backend, dys, (kh - 1) * dh - top, h - lh + top, (kw - 1) * dw - left, w - lw + left);
    const dx = depthwise(s, cr.x, flipped, [1, 1], [dh, dw], cr.pad);
    return m === 1 ? dx : s.track(sumMiddle(backend, dx, b * h * w * c, m, 1, inputShape));
  });
}
