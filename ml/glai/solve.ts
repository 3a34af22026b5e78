/**
 * Solving GLAI's statistics (METHODS.md §3, consequence 1): ridge toward the
 * selector, λ chosen on held-out statistics.
 *
 *   (A + λ'P)·W = B + λ'·P·c·U_sel,   λ' = λ·trace(A)/D,   P = diag(1, …, ρ on the bias features)
 *
 * shrinks W toward c·U_sel, the selector itself in feature space (ml/glai/prior.ts)
 * scaled to the targets: c = tr(U_selᵀB) / tr(U_selᵀAU_sel) is the least-squares
 * scale of the selector's logits to the one-hot labels, a function of A and B. As
 * λ → ∞ the estimator reproduces the selector's predictions; λ → 0 gives least
 * squares. The validation split's statistics (A_v, B_v, n_v), accumulated in the
 * same pass, give the validation squared error of any W without re-reading data:
 *
 *   ‖Φ_vW − Y_v‖² = tr(WᵀA_vW) − 2·tr(WᵀB_v) + n_v     (Y_v one-hot)
 *
 * so λ is the grid point with the least validation error. Everything is a function
 * of the summed statistics, so merged and incremental estimators re-solved here
 * equal the estimator trained on the union (consequences 2 and 3). Never given the
 * test split.
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import type { LinearStats } from './statistics.js';
import type { GlaiSolveOptions } from '../../contracts/activities.js';
import type { GlaiSolveRecord } from '../../contracts/types.js';
import { InvalidInputError } from '../../contracts/errors.js';
import { nativeBlas, type NativeBlas } from '../backend/native/addon.js';

export type { GlaiSolveOptions } from '../../contracts/activities.js';
export type { GlaiSolveRecord } from '../../contracts/types.js';

/** How an estimator is solved: its options plus which features are the bias features (value part constant). */
export interface SolvePlan extends GlaiSolveOptions {
  biasFeatures: number[];
}

/** Solve options of a new estimator beyond λ: ridge toward the selector, λ chosen over half-decades around 1e-3 (measured best on Fashion-MNIST). */
export const DEFAULT_SOLVE: Omit<GlaiSolveOptions, 'lambda'> = { lambdas: [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], prior: 'selector', biasPenalty: 1 };

/** The solved weights W (row-major [D, classes], float64) and how λ was chosen. */
export interface Solution {
  w: Float64Array;
  record: GlaiSolveRecord;
}

/**
 * Solves training statistics the way an estimator with `plan` is solved: toward
 * `prior` (U_sel; null or `plan.prior = 'zero'`: toward 0), λ from `val`'s
 * validation error over `plan.lambdas` (no or empty `val`: `plan.lambda`).
 * Incremental retraining, merging and forgetting all re-solve through here. `blas`:
 * the native provider (default: the loaded one; null: ml-matrix). With `from` (an
 * update's warm start: the λ chosen last time), the grid is walked from the previous choice downhill and stops at a
 * local minimum (the whole grid's minimum when the curve is unimodal, as measured).
 */
export function solveStatistics(train: LinearStats, val: LinearStats | null, prior: Float64Array | null, plan: SolvePlan, blas: NativeBlas | null = activeBlas(), from?: number): Solution {
  if (val && (val.dim !== train.dim || val.classes !== train.classes))
    throw new InvalidInputError(`validation statistics are ${val.dim}×${val.classes}, the training ones ${train.dim}×${train.classes}`);
  const target = plan.prior === 'selector' && prior ? prior : null;
  const c = target ? priorScale(train, target, blas) : 0;
  const penalty = new Float64Array(train.dim).fill(1);
  for (const i of plan.biasFeatures) penalty[i] = plan.biasPenalty;
  const byValidation = val !== null && val.count > 0 && plan.lambdas.length > 0;
  const grid = byValidation ? plan.lambdas : [plan.lambda];
  const solved = new Map<number, { w: Float64Array; validationError: number | null }>();
  const at = (i: number) => {
    if (!solved.has(i)) {
      const w = ridgeSolve(train, grid[i]!, penalty, target, c, blas);
      solved.set(i, { w, validationError: byValidation ? validationMse(val, w, blas) : null });
    }
    return solved.get(i)!;
  };
  const best = byValidation ? (from === undefined ? gridMinimum(grid.length, (i) => at(i).validationError!) : downhill(grid, from, (i) => at(i).validationError!)) : 0;
  const curve = [...solved.keys()].sort((x, y) => x - y).map((i) => ({ lambda: grid[i]!, validationError: solved.get(i)!.validationError }));
  const { w, validationError } = at(best);
  return { w, record: { lambda: grid[best]!, validationError, priorScale: c, prior: target ? 'selector' : 'zero', chosenBy: byValidation ? 'validation' : 'fixed', curve } };
}

/** Index of the least of `n` values (every one evaluated). */
function gridMinimum(n: number, error: (i: number) => number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (error(i) < error(best)) best = i;
  return best;
}

/** From the grid point nearest `from`, steps toward the lower neighbour until neither is lower. */
function downhill(grid: number[], from: number, error: (i: number) => number): number {
  let i = gridMinimum(grid.length, (k) => Math.abs(Math.log(grid[k]!) - Math.log(from)));
  for (;;) {
    const next = [i - 1, i + 1].filter((k) => k >= 0 && k < grid.length).find((k) => error(k) < error(i));
    if (next === undefined) return i;
    i = next;
  }
}

/** c = tr(UᵀB) / tr(UᵀAU): the least-squares scale of the prior's outputs to the targets (0 when they vanish). */
export function priorScale(stats: LinearStats, u: Float64Array, blas: NativeBlas | null = activeBlas()): number {
  let num = 0;
  for (let i = 0; i < u.length; i++) num += u[i]! * stats.b[i]!;
  const den = quadratic(stats, u, blas);
  return den > 0 ? num / den : 0;
}

/** Mean squared error per validation sample of W: (tr(WᵀA_vW) − 2·tr(WᵀB_v) + n_v) / n_v. */
export function validationMse(val: LinearStats, w: Float64Array, blas: NativeBlas | null = activeBlas()): number {
  let cross = 0;
  for (let i = 0; i < w.length; i++) cross += w[i]! * val.b[i]!;
  return (quadratic(val, w, blas) - 2 * cross + val.count) / val.count;
}

/** tr(WᵀAW) for symmetric A and W row-major [dim, classes]: one dsymm on the native provider, else Σᵢ aᵢᵢ·wᵢ·wᵢ + 2·Σ_{i<j} aᵢⱼ·wᵢ·wⱼ. */
function quadratic(stats: LinearStats, w: Float64Array, blas: NativeBlas | null): number {
  const { dim: d, classes: k, a } = stats;
  if (blas) return blas.quadForm(a, w, d, k);
  let diagonal = 0;
  let upper = 0;
  for (let i = 0; i < d; i++) {
    const wi = i * k;
    let self = 0;
    for (let c = 0; c < k; c++) self += w[wi + c]! * w[wi + c]!;
    diagonal += a[i * d + i]! * self;
    for (let j = i + 1; j < d; j++) {
      const aij = a[i * d + j]!;
      if (aij === 0) continue;
      const wj = j * k;
      let dot = 0;
      for (let c = 0; c < k; c++) dot += w[wi + c]! * w[wj + c]!;
      upper += aij * dot;
    }
  }
  return diagonal + 2 * upper;
}

/**
 * Solves (A + λ'P)W = B + λ'·P·c·U by Cholesky — LAPACK's on the native provider
 * (`blas`), ml-matrix's otherwise; λ' = λ·trace(A)/D (λ itself when A is empty).
 */
export function ridgeSolve(stats: LinearStats, lambda: number, penalty: Float64Array, target: Float64Array | null, c: number, blas: NativeBlas | null): Float64Array {
  const { dim: d, classes: k } = stats;
  let trace = 0;
  for (let i = 0; i < d; i++) trace += stats.a[i * d + i]!;
  const ridge = (lambda * trace) / d || lambda;
  const rhs = Float64Array.from(stats.b);
  if (target) for (let i = 0; i < d; i++) for (let j = 0; j < k; j++) rhs[i * k + j]! += ridge * penalty[i]! * c * target[i * k + j]!;
  if (blas) {
    const a = Float64Array.from(stats.a);
    for (let i = 0; i < d; i++) a[i * d + i]! += ridge * penalty[i]!;
    if (blas.spdSolve(a, rhs, d, k) !== 0) throw notPositiveDefinite(lambda);
    return rhs;
  }
  const a = new Matrix(d, d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) a.set(i, j, stats.a[i * d + j]! + (i === j ? ridge * penalty[i]! : 0));
  const chol = new CholeskyDecomposition(a);
  if (!chol.isPositiveDefinite()) throw notPositiveDefinite(lambda);
  const b = new Matrix(d, k);
  for (let i = 0; i < d; i++) for (let j = 0; j < k; j++) b.set(i, j, rhs[i * k + j]!);
  const w = chol.solve(b);
  const out = new Float64Array(d * k);
  for (let i = 0; i < d; i++) for (let j = 0; j < k; j++) out[i * k + j] = w.get(i, j);
  return out;
}

/** The loaded native provider, or null. */
export function activeBlas(): NativeBlas | null {
  const native = nativeBlas();
  return native.active ? native.blas : null;
}

function notPositiveDefinite(lambda: number): InvalidInputError {
  return new InvalidInputError(`GLAI statistics are not positive definite (λ = ${lambda}); raise glai.lambda`);
}
