/**
 * Exact forgetting (METHODS.md §3): subtract named contributions' statistics from an
 * estimator's, re-solve the way it was solved, and prove the result by solving the
 * remaining contributions summed afresh. No data is read — only statistics
 * artifacts. The old estimator stays; `purgeContributions` deletes removed statistics.
 */
import { InvalidInputError } from '../contracts/errors.js';
import { FORGET_TOLERANCE, type Contribution, type ContributionSelector, type ForgetOutcome, type ScheduleWindow } from '../contracts/forget.js';
import type { EstimatorRef } from '../contracts/types.js';
import { checkRemaining, expiredContributions, relativeDifference, selectContributions, statisticsDifference, subtractStats } from '../ml/glai/contributions.js';
import { encodeBundle, type Bundle } from '../storage/bundle.js';
import { openStore } from '../storage/open.js';
import { readBundle } from './artifacts.js';
import { contributionsOf, foreignContribution, readContribution, solveLike, statsOf, sumContributions } from './contributions.js';
import type { EstimatorMeta } from '../ml/glai/estimator-meta.js';

/** A forget whose subtracted solution differs from the fresh solve by more than the tolerance. */
class ForgetNotExactError extends Error {
  readonly nonRetryable = true;
  constructor(difference: number) {
    super(`forget: the subtracted solution differs from a solve on the remaining contributions by ${difference.toExponential(2)} (relative), above ${FORGET_TOLERANCE}; nothing was written`);
    this.name = 'ForgetNotExactError';
  }
}

/** What to forget: named contributions, or those a sliding window drops at `now` (ISO 8601). */
export interface ForgetRequest {
  store: string;
  estimator: EstimatorRef;
  select?: ContributionSelector | null;
  window?: { window: ScheduleWindow; now: string } | null;
  /** Solve the remaining contributions summed afresh and compare (`exactness`). */
  prove: boolean;
}

const since = (t0: number) => (performance.now() - t0) / 1000;

/** The estimator bundle at `e`, refused when it is not a GLAI estimator. */
async function readEstimatorBundle(e: EstimatorRef): Promise<Bundle> {
  const bundle = await readBundle(e.ref);
  const kind = (bundle.meta as EstimatorMeta).kind;
  if (kind !== 'glai-estimator') throw new InvalidInputError(`${e.ref.uri} is a ${kind}, not a GLAI estimator`);
  return bundle;
}

/** Splits the contributions by the request; ids of another structure are refused naming it. */
async function chosen(input: ForgetRequest, list: Contribution[], structureId: string): Promise<{ removed: Contribution[]; remaining: Contribution[] }> {
  if (input.window) {
    const expired = new Set(expiredContributions(list, input.window.window, Date.parse(input.window.now)));
    return { removed: list.filter((c) => expired.has(c.id)), remaining: list.filter((c) => !expired.has(c.id)) };
  }
  const select = input.select ?? {};
  const known = new Set(list.map((c) => c.id));
  for (const id of select.contributions ?? []) {
    if (known.has(id)) continue;
    const foreign = await foreignContribution(input.store, id, structureId);
    if (foreign) throw new InvalidInputError(foreign);
  }
  return selectContributions(list, select, input.estimator.ref.uri);
}

/**
 * Subtracts the chosen contributions from the estimator's statistics, solves, and
 * (with `prove`) checks the solution against a solve on the remaining contributions
 * summed afresh (refused above `FORGET_TOLERANCE`). Writes the new estimator — its
 * manifest lists the remaining contributions, what was removed and the estimator it
 * replaces. Nothing chosen (a window that dropped nothing): the estimator is returned unchanged.
 */
export async function forgetStatistics(input: ForgetRequest): Promise<ForgetOutcome> {
  const t0 = performance.now();
  const bundle = await readEstimatorBundle(input.estimator);
  const meta = bundle.meta as EstimatorMeta;
  const list = await contributionsOf(input.store, { stats: statsOf(bundle), contributions: meta.contributions, uri: input.estimator.ref.uri });
  const { removed, remaining } = await chosen(input, list, meta.structureId);
  if (!removed.length) return { estimator: input.estimator, removed, remaining, exactness: null, seconds: { subtract: since(t0), solve: 0, proof: 0 } };
  checkRemaining(
    meta.count,
    removed.reduce((n, c) => n + c.count, 0),
    meta.dim,
  );
  const parts = [];
  for (const c of removed) parts.push(await readContribution(c));
  const stats = subtractStats(
    statsOf(bundle),
    parts,
    removed.map((c) => `contribution ${c.id}`),
  );
  const subtract = since(t0);
  const t1 = performance.now();
  const { w, record } = solveLike(bundle, stats);
  const solve = since(t1);
  const t2 = performance.now();
  const exactness = input.prove ? await proof(bundle, stats, w, remaining) : null;
  const proofSeconds = since(t2);
  const forgot = { removed: removed.map((c) => c.id), replaces: input.estimator.ref };
  const wOut = bundle.arrays.w instanceof Float64Array ? w : Float32Array.from(w);
  const ref = await openStore(input.store).put(
    encodeBundle({ meta: { ...meta, count: stats.count, lambda: record.lambda, solve: record, contributions: remaining, forgot }, arrays: { ...bundle.arrays, a: stats.a, b: stats.b, w: wOut } }),
  );
  return {
    estimator: { ...input.estimator, ref, count: stats.count, solve: record },
    removed,
    remaining,
    exactness,
    seconds: { subtract, solve, proof: proofSeconds },
  };
}

/** Solves the remaining contributions summed afresh and compares; throws ForgetNotExactError above the tolerance. */
async function proof(bundle: Bundle, stats: ReturnType<typeof statsOf>, w: Float64Array, remaining: Contribution[]): Promise<ForgetOutcome['exactness']> {
  const fresh = await sumContributions(remaining);
  const relative = relativeDifference(w, solveLike(bundle, fresh).w);
  if (!(relative <= FORGET_TOLERANCE)) throw new ForgetNotExactError(relative);
  return { relativeDifference: relative, statisticsDifference: statisticsDifference(stats, fresh), tolerance: FORGET_TOLERANCE };
}

/**
 * Deletes the removed contributions' statistics artifacts from `store` (`--purge`):
 * the estimators that list them can then no longer be re-solved from or forgotten
 * from for those parts. Returns the URIs deleted (those already gone are left out).
 */
export async function purgeContributions(input: { store: string; removed: Contribution[] }): Promise<string[]> {
  const store = openStore(input.store);
  const out: string[] = [];
  for (const uri of new Set(input.removed.map((c) => c.ref.uri))) if (await store.remove(uri)) out.push(uri);
  return out;
}
