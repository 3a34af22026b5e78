/**
 * OUI, the Overfitting–Underfitting Indicator (METHODS.md §2).
 *
 * Works on the activation tensors the training forward pass already produced:
 * no extra forward pass. Per measurement it gathers 2·k rows per layer and
 * compares them with one fused not-equal + sum, so the cost is O(k·ΣD_l),
 * negligible next to the matmuls of the step.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from './rng.js';
import { PAIR_HAMMING } from './backend/wasm-kernels/pair-hamming.js';

/** OUI parameters; defaults are the authors' (k = 28 pairs, every 10th batch). */
export interface OuiOptions {
  /** Number of sample pairs (i, j), i < j, drawn once and reused for the whole run. */
  pairs: number;
  /** Measure on every `every`-th training batch (batch index within the epoch ≡ 0 mod every); 0 turns OUI off. */
  every: number;
}

export const DEFAULT_OUI: OuiOptions = { pairs: 28, every: 10 };

/** Sample pair indices: `k` distinct pairs (i, j), i < j < batchSize, from a seeded generator. */
export function drawPairs(k: number, batchSize: number, rng: Rng): { i: number[]; j: number[] } {
  const total = (batchSize * (batchSize - 1)) / 2;
  if (k > total) throw new Error(`OUI needs ${k} pairs but a batch of ${batchSize} only has ${total}`);
  const seen = new Set<number>();
  const i: number[] = [];
  const j: number[] = [];
  while (i.length < k) {
    const a = rng.int(batchSize);
    const b = rng.int(batchSize);
    if (a === b) continue;
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    const key = lo * batchSize + hi;
    if (seen.has(key)) continue;
    seen.add(key);
    i.push(lo);
    j.push(hi);
  }
  return { i, j };
}

/**
 * OUI of one batch (METHODS.md §2): for every layer l and pair (i, j), the Hamming
 * distance between the on/off patterns [a_l(x) > 0], clamped at ⌊D_l/2⌋ and divided
 * by it; the mean over pairs and layers, each layer weighing the same.
 *
 * `activations` are post-activation outputs with the batch on axis 0; any further
 * axes (conv maps H·W·C) are flattened into D_l. Returns a scalar tensor.
 */
export function ouiBatch(activations: tf.Tensor[], pairs: { i: number[]; j: number[] }): tf.Scalar {
  return tf.tidy(() => {
    const perLayer = activations.map((a) => {
      const b = a.shape[0]!;
      const flat = a.reshape([b, -1]) as tf.Tensor2D;
      const d = flat.shape[1];
      const half = Math.floor(d / 2);
      if (half === 0) return tf.scalar(0);
      return pairHamming(flat, pairs).minimum(half).div(half).mean();
    });
    return tf.stack(perLayer).mean() as tf.Scalar;
  });
}

/** Per pair, the number of units whose on/off state differs ([k] float32); lightpath's wasm kernel where registered. */
function pairHamming(flat: tf.Tensor2D, pairs: { i: number[]; j: number[] }): tf.Tensor1D {
  if (tf.getKernel(PAIR_HAMMING, tf.getBackend())) return tf.engine().runKernel(PAIR_HAMMING, { x: flat }, { i: pairs.i, j: pairs.j }) as tf.Tensor1D;
  const on = flat.greater(0);
  return tf
    .notEqual(on.gather(tf.tensor1d(pairs.i, 'int32')), on.gather(tf.tensor1d(pairs.j, 'int32')))
    .sum(1)
    .toFloat() as tf.Tensor1D;
}

/**
 * Per-layer "batch OUI" (OUIDecay variant, METHODS.md §2): for a layer's
 * pre-activations over a batch of B samples, with s_u the number of samples where
 * unit u is positive, OUI_l = mean_u min(s_u, B − s_u) / ⌊B/2⌋. Returns a scalar.
 */
export function batchOuiLayer(preActivations: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const b = preActivations.shape[0]!;
    const half = Math.floor(b / 2);
    const s = preActivations.reshape([b, -1]).greater(0).toFloat().sum(0);
    return s.minimum(tf.scalar(b).sub(s)).div(half).mean() as tf.Scalar;
  });
}

/** State of an OUI meter that a checkpoint stores. */
export interface OuiState {
  pairs: { i: number[]; j: number[] } | null;
  batchSize: number | null;
}

/**
 * Measures OUI during training: draws the pairs at the first measurement and keeps
 * them, measures every `every`-th batch of an epoch (full batches only, so the pairs
 * always index into the batch), and reports the epoch value as the mean.
 */
export class OuiMeter {
  private values: tf.Scalar[] = [];
  private state: OuiState;

  constructor(
    private readonly opts: OuiOptions,
    private readonly rng: Rng,
    state?: OuiState,
  ) {
    this.state = state ?? { pairs: null, batchSize: null };
  }

  /** Whether batch `batchIndex` (within the epoch) of size `batchSize` is measured. */
  wants(batchIndex: number, batchSize: number): boolean {
    if (this.opts.every <= 0 || batchIndex % this.opts.every !== 0) return false;
    return this.state.batchSize === null || batchSize === this.state.batchSize;
  }

  /** Records the OUI of a batch from its activation tensors (kept on device until `epochValue`). */
  record(activations: tf.Tensor[]): void {
    if (this.state.pairs === null) {
      const b = activations[0]!.shape[0]!;
      this.state = { pairs: drawPairs(this.opts.pairs, b, this.rng), batchSize: b };
    }
    this.values.push(tf.keep(ouiBatch(activations, this.state.pairs!)));
  }

  /** Mean of this epoch's measurements (NaN if none), and resets for the next epoch. */
  async epochValue(): Promise<number> {
    if (this.values.length === 0) return NaN;
    const stacked = tf.stack(this.values);
    const data = await stacked.data();
    stacked.dispose();
    this.values.forEach((v) => v.dispose());
    this.values = [];
    let s = 0;
    for (const v of data) s += v;
    return s / data.length;
  }

  /** Serializable state (pairs and batch size) for a checkpoint. */
  snapshot(): OuiState {
    return JSON.parse(JSON.stringify(this.state)) as OuiState;
  }
}
