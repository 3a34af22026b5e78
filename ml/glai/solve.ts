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
 * update's warm start: the λ chosen last time) the grid is walked from the previous
 * choice (`walk`) instead of solved at every point.
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
  const walking = byValidation && from !== undefined;
  const solved = new Map<number, GridPoint>();
  // One factor buffer for every grid point (each factor is used only right after its solve): no fresh D² allocation per λ.
  const work = blas ? new Float64Array(train.a.length) : undefined;
  const at = (i: number) => {
    if (!solved.has(i)) {
      const f = factorSolve(train, grid[i]!, penalty, target, c, blas, work);
      solved.set(i, {
        w: f.w,
        validationError: byValidation ? validationMse(val, f.w, blas) : null,
        slope: walking ? validationSlope(val, f, penalty, target, c, blas) : 0,
      });
    }
    return solved.get(i)!;
  };
  const best = !byValidation ? 0 : walking ? walk(grid, from, at) : gridMinimum(grid.length, (i) => at(i).validationError!);
  const curve = [...solved.keys()].sort((x, y) => x - y).map((i) => ({ lambda: grid[i]!, validationError: solved.get(i)!.validationError }));
  const { w, validationError } = at(best);
  return { w, record: { lambda: grid[best]!, validationError, priorScale: c, prior: target ? 'selector' : 'zero', chosenBy: byValidation ? 'validation' : 'fixed', curve } };
}

/** A solved grid point: W, its validation error and the error's slope in λ (0 unless walking). */
interface GridPoint {
  w: Float64Array;
  validationError: number | null;
  slope: number;
}

/** Index of the least of `n` values (every one evaluated). */
function gridMinimum(n: number, error: (i: number) => number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (error(i) < error(best)) best = i;
  return best;
}

/**
 * The grid's validation minimum found from the point nearest `from`: the error's
 * slope there says which way it falls, so only that neighbour is solved; the walk
 * goes on while the next point is lower and its slope still falls the same way.
 * For a validation curve with one minimum (as measured) this is the whole grid's
 * minimum, found with two solves when λ has not moved (the neighbour that shows
 * it) instead of one per grid point.
 */
function walk(grid: number[], from: number, at: (i: number) => GridPoint): number {
  let i = gridMinimum(grid.length, (k) => Math.abs(Math.log(grid[k]!) - Math.log(from)));
  const dir = at(i).slope < 0 ? 1 : -1;
  for (;;) {
    const j = i + dir;
    if (j < 0 || j >= grid.length || at(j).validationError! >= at(i).validationError!) return i;
    if (dir * at(j).slope >= 0) return j;
    i = j;
  }
}

/**
 * d(validation error)/dλ' at a solution, from its factor (METHODS.md §3): with
 * (A + λ'P)W = B + λ'·P·c·U, dW/dλ' = (A + λ'P)⁻¹·P·(cU − W), and the error's
 * slope is 2·(tr(W'ᵀA_vW) − tr(W'ᵀB_v)) / n_v. Its sign is the slope's in λ.
 */
function validationSlope(val: LinearStats, f: Factored, penalty: Float64Array, target: Float64Array | null, c: number, blas: NativeBlas | null): number {
  const k = val.classes;
  const rhs = new Float64Array(f.w.length);
  for (let i = 0; i < val.dim; i++) for (let j = 0; j < k; j++) rhs[i * k + j] = penalty[i]! * ((target ? c * target[i * k + j]! : 0) - f.w[i * k + j]!);
  const dw = f.again(rhs);
  return (2 * (bilinear(val, dw, f.w, blas) - dot(dw, val.b))) / val.count;
}

/** c = tr(UᵀB) / tr(UᵀAU): the least-squares scale of the prior's outputs to the targets (0 when they vanish). */
export function priorScale(stats: LinearStats, u: Float64Array, blas: NativeBlas | null = activeBlas()): number {
  const num = dot(u, stats.b);
  const den = bilinear(stats, u, u, blas);
  return den > 0 ? num / den : 0;
}

/** Mean squared error per validation sample of W: (tr(WᵀA_vW) − 2·tr(WᵀB_v) + n_v) / n_v. */
export function validationMse(val: LinearStats, w: Float64Array, blas: NativeBlas | null = activeBlas()): number {
  return (bilinear(val, w, w, blas) - 2 * dot(w, val.b) + val.count) / val.count;
}

/** tr(UᵀB) for U, B of one shape (row-major): the sum of their elementwise products. */
function dot(u: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < u.length; i++) sum += u[i]! * b[i]!;
  return sum;
}

/** tr(UᵀAV) for symmetric A and U, V row-major [dim, classes]: one dsymm on the native provider, else Σᵢⱼ aᵢⱼ·(uᵢ·vⱼ). */
function bilinear(stats: LinearStats, u: Float64Array, v: Float64Array, blas: NativeBlas | null): number {
  const { dim: d, classes: k, a } = stats;
  if (blas) return blas.bilinearForm(a, u, v, d, k);
  let sum = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const aij = a[i * d + j]!;
      if (aij === 0) continue;
      let dot = 0;
      for (let c = 0; c < k; c++) dot += u[i * k + c]! * v[j * k + c]!;
      sum += aij * dot;
    }
  }
  return sum;
}

/** A solution W and a solver for other right-hand sides with the same factor of A + λ'P. */
interface Factored {
  w: Float64Array;
  again: (rhs: Float64Array) => Float64Array;
}

/**
 * Solves (A + λ'P)W = B + λ'·P·c·U by Cholesky — LAPACK's on the native provider
 * (`blas`), ml-matrix's otherwise; λ' = λ·trace(A)/D (λ itself when A is empty).
 */
export function ridgeSolve(stats: LinearStats, lambda: number, penalty: Float64Array, target: Float64Array | null, c: number, blas: NativeBlas | null): Float64Array {
  return factorSolve(stats, lambda, penalty, target, c, blas).w;
}

/** `ridgeSolve`, keeping the factor for `again` (in `work` when given: D² floats, overwritten). */
function factorSolve(stats: LinearStats, lambda: number, penalty: Float64Array, target: Float64Array | null, c: number, blas: NativeBlas | null, work?: Float64Array): Factored {
  const { dim: d, classes: k } = stats;
  let trace = 0;
  for (let i = 0; i < d; i++) trace += stats.a[i * d + i]!;
  const ridge = (lambda * trace) / d || lambda;
  const rhs = Float64Array.from(stats.b);
  if (target) for (let i = 0; i < d; i++) for (let j = 0; j < k; j++) rhs[i * k + j]! += ridge * penalty[i]! * c * target[i * k + j]!;
  if (blas) {
    const a = work ?? new Float64Array(stats.a.length);
    a.set(stats.a);
    for (let i = 0; i < d; i++) a[i * d + i]! += ridge * penalty[i]!;
    if (blas.spdSolve(a, rhs, d, k) !== 0) throw notPositiveDefinite(lambda);
    return { w: rhs, again: (b) => (blas.spdSolveFactored(a, b, d, k), b) };
  }
  const a = new Matrix(d, d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) a.set(i, j, stats.a[i * d + j]! + (i === j ? ridge * penalty[i]! : 0));
  const chol = new CholeskyDecomposition(a);
  if (!chol.isPositiveDefinite()) throw notPositiveDefinite(lambda);
  const solve = (b: Float64Array) => {
    const x = chol.solve(new Matrix(Array.from({ length: d }, (_, i) => Array.from(b.subarray(i * k, (i + 1) * k)))));
    return Float64Array.from({ length: d * k }, (_, n) => x.get(Math.floor(n / k), n % k));
  };
  return { w: solve(rhs), again: solve };
}

/** The loaded native provider, or null. */
export function activeBlas(): NativeBlas | null {
  const native = nativeBlas();
  return native.active ? native.blas : null;
}

function notPositiveDefinite(lambda: number): InvalidInputError {
  return new InvalidInputError(`GLAI statistics are not positive definite (λ = ${lambda}); raise glai.lambda`);
}
