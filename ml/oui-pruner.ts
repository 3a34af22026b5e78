/**
 * OUI-based pruning of one training run (METHODS.md §2), shaped like Optuna's
 * pruners: report OUI as training goes, ask whether to stop. It judges a single
 * trial on its own — no population of other trials — from the prescribed band:
 * OUI below the band means the network acts almost linearly (underfitting, weight
 * decay too high), above it means patterns nearly independent per sample
 * (overfitting, weight decay too low). Pure TypeScript: usable from any loop.
 *
 *     const p = new OuiPruner({ band: [0.6, 0.8], warmupSteps: 3 });
 *     p.report(epoch, oui);
 *     if (p.shouldPrune()) console.log(p.verdict().reason);
 */

/** Why a trial is pruned. */
export type PruneReason = 'underfitting' | 'overfitting';

/** Pruner settings. */
export interface OuiPrunerOptions {
  /** The OUI band that went with the best accuracy; default [0.6, 0.8]. */
  band?: [number, number];
  /** Reports at steps below this are never judged (OUI needs a few epochs to settle). */
  warmupSteps?: number;
  /** Consecutive out-of-band reports (after warm-up) before pruning; default 1. */
  patience?: number;
}

/** The pruner's judgement after the latest report. */
export interface PruneVerdict {
  prune: boolean;
  reason: PruneReason | null;
  step: number | null;
  oui: number | null;
  message: string;
}

/** Classifies one OUI value against a band: below → underfitting, above → overfitting, inside → null. */
export function ouiBandVerdict(oui: number, band: [number, number]): PruneReason | null {
  if (oui < band[0]) return 'underfitting';
  if (oui > band[1]) return 'overfitting';
  return null;
}

export class OuiPruner {
  readonly band: [number, number];
  readonly warmupSteps: number;
  readonly patience: number;
  private readonly history: { step: number; oui: number }[] = [];

  constructor(opts: OuiPrunerOptions = {}) {
    this.band = opts.band ?? [0.6, 0.8];
    this.warmupSteps = opts.warmupSteps ?? 0;
    this.patience = opts.patience ?? 1;
    if (!(this.band[0] < this.band[1]) || this.band[0] < 0 || this.band[1] > 1) {
      throw new RangeError(`band [${this.band.join(', ')}] must satisfy 0 ≤ low < high ≤ 1`);
    }
    if (!Number.isInteger(this.patience) || this.patience < 1) throw new RangeError(`patience ${this.patience} must be a positive integer`);
  }

  /** Records the OUI measured at `step` (steps must increase). */
  report(step: number, oui: number): void {
    const last = this.history.at(-1);
    if (last && step <= last.step) throw new RangeError(`step ${step} reported after step ${last.step}`);
    if (!Number.isFinite(oui) || oui < 0 || oui > 1) throw new RangeError(`OUI ${oui} at step ${step} is outside [0, 1]`);
    this.history.push({ step, oui });
  }

  /** Whether the trial should stop now. */
  shouldPrune(): boolean {
    return this.verdict().prune;
  }

  /** The judgement with its reason. */
  verdict(): PruneVerdict {
    const last = this.history.at(-1);
    if (!last) return { prune: false, reason: null, step: null, oui: null, message: 'no OUI reported yet' };
    if (last.step < this.warmupSteps) {
      return { prune: false, reason: null, step: last.step, oui: last.oui, message: `warm-up: step ${last.step} < ${this.warmupSteps}` };
    }
    const judged = this.history.filter((h) => h.step >= this.warmupSteps).slice(-this.patience);
    const reasons = judged.map((h) => ouiBandVerdict(h.oui, this.band));
    const reason = reasons[reasons.length - 1] ?? null;
    const prune = judged.length === this.patience && reason !== null && reasons.every((r) => r === reason);
    const where = `OUI ${last.oui.toFixed(3)} at step ${last.step}`;
    const message =
      reason === null
        ? `${where} is inside [${this.band.join(', ')}]`
        : `${where} is ${reason === 'underfitting' ? 'below' : 'above'} the band [${this.band.join(', ')}]${prune ? '' : ` (${judged.length}/${this.patience} reports)`}`;
    return { prune, reason: prune ? reason : null, step: last.step, oui: last.oui, message };
  }
}
