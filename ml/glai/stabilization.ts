/**
 * Structure vs weight stabilization during training (METHODS.md §3: the ReLU
 * on/off structure settles before the weights do). Every epoch the activation
 * patterns of a fixed probe set are compared with the previous epoch's:
 *
 *   patternChange = (bits that flipped) / (probe samples × ReLU units),
 *   weightChange  = ‖w_t − w_{t−1}‖₂ / ‖w_{t−1}‖₂ over all of the model's weights.
 *
 * The state is the previous epoch's patterns and weights; both are functions of
 * the previous checkpoint's weights, so a resumed run rebuilds it from the
 * checkpoint and continues exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { forwardCapture } from '../models/forward.js';
import { Rng } from '../rng.js';
import type { LabelledData } from '../train/data.js';

/** What to track; `freezeAfter` > 0 stops training once patterns stayed under `threshold` that many epochs. */
export interface StabilityOptions {
  /** Probe samples drawn once (seeded) from the training set; 0 = off. */
  probe: number;
  /** Pattern-change threshold for "settled". */
  threshold: number;
  /** Weight-change threshold for "settled". */
  weightThreshold: number;
  /** Consecutive settled epochs after which training stops (structure frozen early); 0 = never. */
  freezeAfter: number;
}

export const DEFAULT_STABILITY: StabilityOptions = { probe: 512, threshold: 0.01, weightThreshold: 0.01, freezeAfter: 0 };

/** Change of patterns and weights over one epoch. */
export interface StabilityStep {
  patternChange: number;
  weightChange: number;
}

const PROBE_SEED_SALT = 0x9b0be5;

/** Tracks pattern and weight change of a model on a fixed probe set. */
export class StabilityTracker {
  private readonly probe: tf.Tensor;
  private patterns: Uint8Array | null = null;
  private weights: Float32Array[] | null = null;

  constructor(
    data: LabelledData,
    inputShape: number[],
    private readonly opts: StabilityOptions,
    seed: number,
  ) {
    const n = Math.min(opts.probe, data.count);
    const rows = Rng.fromSeed(seed ^ PROBE_SEED_SALT)
      .shuffle(Int32Array.from({ length: data.count }, (_, i) => i))
      .subarray(0, n);
    const x = new Float32Array(n * data.dim);
    rows.forEach((r, k) => x.set(data.x.subarray(r * data.dim, (r + 1) * data.dim), k * data.dim));
    this.probe = tf.tensor(x, [n, ...inputShape]);
  }

  /** Records the model's current state (`weights`: its weights as read) as the reference: start of training, or a resumed checkpoint. */
  async reset(model: tf.LayersModel, weights: Float32Array[]): Promise<void> {
    this.patterns = await this.patternsOf(model);
    this.weights = weights;
  }

  /** Change since the last call (or `reset`) given the model's weights as read now; the current state becomes the reference. */
  async step(model: tf.LayersModel, weights: Float32Array[]): Promise<StabilityStep> {
    return this.compare(await this.patternsOf(model), weights);
  }

  /**
   * `reset` then `step` read synchronously (dataSync): per-step tracking from a
   * training loop's batch hook, every N optimiser steps rather than every epoch.
   */
  stepSync(model: tf.LayersModel): StabilityStep | null {
    const weights = model.weights.map((w) => w.read().dataSync() as Float32Array);
    const masks = this.patternMask(model);
    const patterns = masks.dataSync() as Uint8Array;
    masks.dispose();
    if (!this.patterns) {
      this.patterns = patterns;
      this.weights = weights;
      return null;
    }
    return this.compare(patterns, weights);
  }

  /** Flipped share of pattern bits and relative weight change against the reference; the given state becomes the reference. */
  private compare(patterns: Uint8Array, weights: Float32Array[]): StabilityStep {
    let flipped = 0;
    for (let i = 0; i < patterns.length; i++) flipped += patterns[i]! ^ this.patterns![i]!;
    let diff = 0;
    let norm = 0;
    weights.forEach((w, k) => {
      const before = this.weights![k]!;
      for (let i = 0; i < w.length; i++) {
        const d = w[i]! - before[i]!;
        diff += d * d;
        norm += before[i]! * before[i]!;
      }
    });
    this.patterns = patterns;
    this.weights = weights;
    return { patternChange: patterns.length ? flipped / patterns.length : 0, weightChange: Math.sqrt(diff / Math.max(norm, Number.MIN_VALUE)) };
  }

  /** Whether the last `freezeAfter` epochs of `history` all had patterns under the threshold. */
  shouldFreeze(history: { patternChange?: number }[]): boolean {
    const k = this.opts.freezeAfter;
    return k > 0 && history.length >= k && history.slice(-k).every((m) => (m.patternChange ?? Infinity) < this.opts.threshold);
  }

  dispose(): void {
    this.probe.dispose();
  }

  /** On/off bits of every ReLU-type activation on the probe set, one byte per bit. */
  private async patternsOf(model: tf.LayersModel): Promise<Uint8Array> {
    const masks = this.patternMask(model);
    const bits = (await masks.data()) as Uint8Array;
    masks.dispose();
    return bits;
  }

  /** The probe set's on/off bits as a bool tensor. */
  private patternMask(model: tf.LayersModel): tf.Tensor {
    return tf.tidy(() => {
      const { activations } = forwardCapture(model, this.probe, false);
      return activations.length
        ? tf.concat(
            activations.map((a) => a.reshape([-1]).greater(0)),
            0,
          )
        : tf.zeros([0], 'bool');
    });
  }
}
