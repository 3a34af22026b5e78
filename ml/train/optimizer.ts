/**
 * Optimizers with explicit, serializable state (TF.js's own optimizers recompute
 * Adam's bias corrections on restore, which breaks bit-exact resumption, and have
 * no decoupled weight decay).
 *
 * - `adamw`: Adam (Kingma & Ba) with weight decay either decoupled (Loshchilov &
 *   Hutter: w ← w − lr·wd·w beside the Adam step) or coupled L2 (g ← g + wd·w).
 * - `sgd`: SGD with momentum, PyTorch form (b ← μ·b + g; w ← w − lr·b), same two
 *   weight-decay modes. Coupled L2 on SGD is what the OUI paper's runs used.
 *
 * Where the backend has a fused update kernel (ml/backend/fused-ops.ts: the
 * native provider's), one kernel call updates every variable; it runs the same
 * float32 operations in the same order as the ops below, so the bits, and a
 * resumed checkpoint, are the same either way.
 */
import * as tf from '@tensorflow/tfjs';
import { ADAMW_UPDATE, DECAY_MODES, SGD_UPDATE, fusedUpdate, hasKernel } from '../backend/fused-ops.js';

export type WeightDecayMode = 'decoupled' | 'coupled';

/** Optimizer settings recorded with every run. */
export interface OptimizerSpec {
  name: 'adamw' | 'sgd';
  weightDecay: number;
  weightDecayMode: WeightDecayMode;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  momentum?: number;
}

/** Serializable optimizer state: step count and one slot array per (slot, variable). */
export interface OptimizerState {
  step: number;
  slots: Float32Array[];
}

export class Optimizer {
  private step = 0;
  private slots: tf.Variable[][] = [];

  constructor(readonly spec: OptimizerSpec) {}

  private slotCount(): number {
    return this.spec.name === 'adamw' ? 2 : 1;
  }

  private ensureSlots(vars: tf.Variable[]): void {
    if (this.slots.length) return;
    this.slots = Array.from({ length: this.slotCount() }, () => vars.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false))));
  }

  /** Applies one update with learning rate `lr` to `vars` given their gradients (same order). */
  apply(vars: tf.Variable[], grads: tf.Tensor[], lr: number): void {
    const kernel = this.fusedKernel([...vars, ...grads]);
    if (kernel) {
      const { params, slots } = this.startFused(vars, lr);
      this.assignFused(
        vars,
        fusedUpdate(
          kernel,
          vars.map((w, k) => [w, grads[k]!, ...slots[k]!]),
          params,
        ),
      );
      return;
    }
    this.ensureSlots(vars);
    this.step += 1;
    const { weightDecay: wd, weightDecayMode: mode } = this.spec;
    tf.tidy(() => {
      if (this.spec.name === 'adamw') {
        const b1 = this.spec.beta1 ?? 0.9;
        const b2 = this.spec.beta2 ?? 0.999;
        const eps = this.spec.epsilon ?? 1e-8;
        const c1 = 1 - Math.pow(b1, this.step);
        const c2 = 1 - Math.pow(b2, this.step);
        vars.forEach((w, k) => {
          let g = grads[k]!;
          if (wd > 0 && mode === 'coupled') g = g.add(w.mul(wd));
          const m = this.slots[0]![k]!;
          const v = this.slots[1]![k]!;
          m.assign(m.mul(b1).add(g.mul(1 - b1)));
          v.assign(v.mul(b2).add(g.square().mul(1 - b2)));
          let update = m.div(c1).div(v.div(c2).sqrt().add(eps));
          if (wd > 0 && mode === 'decoupled') update = update.add(w.mul(wd));
          w.assign(w.sub(update.mul(lr)));
        });
      } else {
        const mu = this.spec.momentum ?? 0.9;
        vars.forEach((w, k) => {
          let g = grads[k]!;
          if (wd > 0 && mode === 'coupled') g = g.add(w.mul(wd));
          const b = this.slots[0]![k]!;
          b.assign(b.mul(mu).add(g));
          let update: tf.Tensor = b;
          if (wd > 0 && mode === 'decoupled') update = update.add(w.mul(wd));
          w.assign(w.sub(update.mul(lr)));
        });
      }
    });
  }

  /** The fused update kernel for `tensors` (variables and gradients) on the backend in use, or null where it has none or a tensor is not float32. */
  fusedKernel(tensors: tf.Tensor[]): typeof ADAMW_UPDATE | typeof SGD_UPDATE | null {
    const kernel = this.spec.name === 'adamw' ? ADAMW_UPDATE : SGD_UPDATE;
    return hasKernel(kernel) && tensors.every((t) => t.dtype === 'float32') ? kernel : null;
  }

  /**
   * Counts a step that a fused kernel will apply (one `fusedKernel` found):
   * returns the kernel's params for learning rate `lr` and each variable's
   * slots; the kernel's outputs go to `assignFused`.
   */
  startFused(vars: tf.Variable[], lr: number): { params: number[]; slots: tf.Variable[][] } {
    this.ensureSlots(vars);
    this.step += 1;
    const wd = this.spec.weightDecay;
    const head = [lr, wd, wd > 0 ? DECAY_MODES[this.spec.weightDecayMode] : DECAY_MODES.none];
    let params: number[];
    if (this.spec.name === 'adamw') {
      const b1 = this.spec.beta1 ?? 0.9;
      const b2 = this.spec.beta2 ?? 0.999;
      params = [...head, b1, 1 - b1, b2, 1 - b2, 1 - Math.pow(b1, this.step), 1 - Math.pow(b2, this.step), this.spec.epsilon ?? 1e-8];
    } else {
      params = [...head, this.spec.momentum ?? 0.9];
    }
    return { params, slots: vars.map((_, k) => this.slots.map((s) => s[k]!)) };
  }

  /** Assigns a fused update's outputs (per variable: new weights, then its slots) and frees them. */
  assignFused(vars: tf.Variable[], updated: tf.Tensor[][]): void {
    updated.forEach(([w, ...slots], k) => {
      vars[k]!.assign(w!);
      slots.forEach((t, s) => this.slots[s]![k]!.assign(t));
    });
    tf.dispose(updated.flat());
  }

  /** Reads the state back (asynchronously) for a checkpoint. */
  async state(): Promise<OptimizerState> {
    const slots: Float32Array[] = [];
    for (const group of this.slots) for (const v of group) slots.push((await v.data()) as Float32Array);
    return { step: this.step, slots };
  }

  /** Restores state written by `state()` for the same variables. */
  load(state: OptimizerState, vars: tf.Variable[]): void {
    this.dispose();
    this.step = state.step;
    if (!state.slots.length) return;
    const n = vars.length;
    this.slots = Array.from({ length: this.slotCount() }, (_, s) => vars.map((v, k) => tf.tidy(() => tf.variable(tf.tensor(state.slots[s * n + k]!, v.shape), false))));
  }

  /** Frees the slot variables. */
  dispose(): void {
    this.slots.flat().forEach((v) => v.dispose());
    this.slots = [];
  }
}
