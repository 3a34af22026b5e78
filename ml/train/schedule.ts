/** Learning-rate schedules: constant, cosine decay, both with an optional linear warm-up. */

export interface ScheduleSpec {
  kind: 'constant' | 'cosine';
  /** Linear warm-up from 0 over this many steps. */
  warmupSteps?: number;
}

/** Learning rate at `step` (0-based) of `totalSteps` for base rate `lr`. */
export function learningRateAt(spec: ScheduleSpec, lr: number, step: number, totalSteps: number): number {
  const warm = spec.warmupSteps ?? 0;
  if (step < warm) return (lr * (step + 1)) / warm;
  if (spec.kind === 'constant') return lr;
  const t = (step - warm) / Math.max(1, totalSteps - warm);
  return 0.5 * lr * (1 + Math.cos(Math.PI * Math.min(1, t)));
}
