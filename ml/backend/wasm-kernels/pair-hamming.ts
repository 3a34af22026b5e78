/**
 * PairHamming: lightpath's own op for OUI (METHODS.md §2). For a batch of
 * activations x [B, …] and pairs (i_p, j_p) it returns, per pair, the number of
 * units whose on/off state (x > 0) differs between samples i_p and j_p. On wasm,
 * composing it from stock kernels (gather, greater, notEqual, sum) costs more than
 * a training step of a CNN; reading the two rows straight from the heap is one
 * pass over 2·k rows (branch-free: the signs are random, so a branch per unit
 * would mispredict half the time and run ~7× slower).
 */
import * as tf from '@tensorflow/tfjs';
import { heap, type Info, type WasmKernelArgs } from './common.js';

/** The op's name (registered for wasm; other backends compose it from stock ops). */
export const PAIR_HAMMING = 'LightpathPairHamming';

/** The PairHamming kernel function: attrs `i`, `j` (sample indices); float32 output [k]. */
export function pairHamming(args: WasmKernelArgs): Info {
  const x = args.inputs.x!;
  const i = args.attrs!.i as number[];
  const j = args.attrs!.j as number[];
  const b = x.shape[0]!;
  const d = tf.util.sizeFromShape(x.shape) / b;
  const out = args.backend.makeOutput([i.length], 'float32');
  const data = heap(args.backend, x) as Float32Array;
  const counts = heap(args.backend, out) as Float32Array;
  for (let p = 0; p < i.length; p++) {
    if (i[p]! >= b || j[p]! >= b) throw new Error(`${PAIR_HAMMING}: pair (${i[p]}, ${j[p]}) outside the batch of ${b}`);
    const a = i[p]! * d;
    const c = j[p]! * d;
    let n = 0;
    for (let u = 0; u < d; u++) n += +(data[a + u]! > 0) ^ +(data[c + u]! > 0);
    counts[p] = n;
  }
  return out;
}
