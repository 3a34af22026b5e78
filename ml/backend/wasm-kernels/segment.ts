/**
 * UnsortedSegmentSum for wasm (missing from the backend; it is the gradient of
 * gather, e.g. of an embedding lookup) as a JS loop over the wasm heap:
 * out[id] += x[i] row by row, ids outside [0, numSegments) dropped as in
 * TensorFlow. segmentIds' shape is a prefix of x's; the rest of x is a row.
 */
import { heap, type Info, type WasmKernelArgs } from './common.js';

/** The UnsortedSegmentSum kernel function. */
export function unsortedSegmentSum(args: WasmKernelArgs): Info {
  const { inputs, attrs = {}, backend } = args;
  const x = inputs.x!;
  const ids = inputs.segmentIds!;
  const numSegments = attrs.numSegments as number;
  const rows = ids.shape.reduce((a, d) => a * d, 1);
  const rowShape = x.shape.slice(ids.shape.length);
  const row = rowShape.reduce((a, d) => a * d, 1);
  const out = backend.makeOutput([numSegments, ...rowShape], x.dtype);
  const xv = heap(backend, x) as Float32Array | Int32Array;
  const idv = heap(backend, ids) as Int32Array;
  const ov = heap(backend, out) as Float32Array | Int32Array;
  ov.fill(0);
  for (let i = 0; i < rows; i++) {
    const id = idv[i]!;
    if (id < 0 || id >= numSegments) continue;
    const src = i * row;
    const dst = id * row;
    for (let j = 0; j < row; j++) ov[dst + j] = ov[dst + j]! + xv[src + j]!;
  }
  return out;
}
