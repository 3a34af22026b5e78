/**
 * The selector inside GLAI's feature space (METHODS.md §3): the estimator weights
 * U_sel for which φ(x)ᵀU_sel equals the selector's logits exactly, the point the
 * ridge shrinks toward (ml/glai/solve.ts).
 *
 * With v the value layer, g the last hidden layer among the gates and out the
 * classifier, the logits are
 *   z_k = Σ_j m_g,j · (Σ_i h_v,i W_g[i,j] + b_g,j) · W_out[j,k] + b_out,k     (v = g − 1)
 *   z_k = Σ_i h_v,i · W_out[i,k] + b_out,k                                   (v = g, last hidden)
 * so U_sel[(i, j), k] = W_g[i,j]·W_out[j,k], U_sel[(bias, j), k] = b_g,j·W_out[j,k]
 * and U_sel[(bias, bias), k] = b_out,k (first form), or U_sel[(i, bias), k] = W_out[i,k]
 * and U_sel[(bias, bias), k] = b_out,k (second form); every other entry is 0. Other
 * layer choices (a gap between the value layer and the last hidden layer, or the
 * last hidden layer not gating) cannot express the selector: there is no prior.
 */
import { featureShape, gatesOf, type FeatureSpec } from './features.js';
import type { SelectorWeights } from './selector.js';

/** U_sel, row-major [D, classes] in float64, or null when the feature map cannot express the selector. */
export async function selectorPrior(w: SelectorWeights, spec: FeatureSpec): Promise<Float64Array | null> {
  const last = w.kernels.length - 2;
  const gates = gatesOf(spec);
  const { values, gates: width } = featureShape(w, spec);
  const classes = w.kernels.at(-1)!.shape[1];
  const out = await w.kernels.at(-1)!.data();
  const outBias = await w.biases.at(-1)!.data();
  const u = new Float64Array(values * width * classes);
  const at = (i: number, j: number, k: number) => (i * width + j) * classes + k;
  for (let k = 0; k < classes; k++) u[at(values - 1, width - 1, k)] = outBias[k]!;
  if (spec.valueLayer === last) {
    for (let i = 0; i < values - 1; i++) for (let k = 0; k < classes; k++) u[at(i, width - 1, k)] = out[i * classes + k]!;
    return u;
  }
  const g = gates.indexOf(last);
  if (spec.valueLayer !== last - 1 || g < 0) return null;
  const offset = gates.slice(0, g).reduce((s, l) => s + w.kernels[l]!.shape[1], 0);
  const units = w.kernels[last]!.shape[1];
  const kernel = await w.kernels[last]!.data();
  const bias = await w.biases[last]!.data();
  for (let j = 0; j < units; j++) {
    for (let k = 0; k < classes; k++) {
      const wOut = out[j * classes + k]!;
      for (let i = 0; i < values - 1; i++) u[at(i, offset + j, k)] = kernel[i * units + j]! * wOut;
      u[at(values - 1, offset + j, k)] = bias[j]! * wOut;
    }
  }
  return u;
}
