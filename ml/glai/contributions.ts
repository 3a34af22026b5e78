/**
 * Exact forgetting for GLAI's sufficient statistics (METHODS.md §3, consequences 2
 * and 3 run backwards): an estimator's A = Σ φφᵀ and B = Σ φyᵀ are the float64 sum of
 * its contributions' statistics, so subtracting a contribution gives the statistics of
 * the others to float64 rounding of the total (|A_total|·2⁻⁵³ per operation), even
 * when the removed part is most of the data — no cancellation beyond that, because
 * every part is stored exactly as it was added. Pure arithmetic and bookkeeping:
 * no store, no Temporal.
 */
import { InvalidInputError } from '../../contracts/errors.js';
import type { Contribution, ContributionSelector, ScheduleWindow } from '../../contracts/forget.js';
import type { LinearStats } from './statistics.js';
import { sameFeatureMap } from './features.js';

/** Refuses statistics of another structure or feature map than `total`, naming both. */
function checkSameMap(total: LinearStats, part: LinearStats, what: string): void {
  if (part.structureId !== total.structureId) throw new InvalidInputError(`${what} holds statistics of structure ${part.structureId}, not ${total.structureId}`);
  if (part.dim !== total.dim || part.classes !== total.classes || !sameFeatureMap(part.spec, total.spec)) {
    throw new InvalidInputError(`${what} has another feature map (D = ${part.dim}, ${part.classes} classes) than the estimator (D = ${total.dim}, ${total.classes} classes)`);
  }
}

/** `total` minus each of `parts` (a new object; `total` is unchanged); `names` name the parts in errors. */
export function subtractStats(total: LinearStats, parts: LinearStats[], names: string[]): LinearStats {
  const out: LinearStats = { ...total, a: Float64Array.from(total.a), b: Float64Array.from(total.b) };
  parts.forEach((p, k) => {
    checkSameMap(total, p, names[k] ?? `part ${k}`);
    for (let i = 0; i < out.a.length; i++) out.a[i]! -= p.a[i]!;
    for (let i = 0; i < out.b.length; i++) out.b[i]! -= p.b[i]!;
    out.count -= p.count;
  });
  return out;
}

/** The samples a linear estimator on D features needs at least: D (fewer leave A singular; the ridge alone would decide). */
export function minimumSamples(dim: number): number {
  return dim;
}

/** Refuses a removal that leaves fewer samples than the feature dimension, naming the counts and D. */
export function checkRemaining(total: number, removed: number, dim: number): void {
  const left = total - removed;
  if (left < minimumSamples(dim)) {
    throw new InvalidInputError(
      `forgetting ${removed} of the estimator's ${total} samples would leave ${left}, fewer than its feature dimension D = ${dim}: A would be singular and the ridge term alone would decide the weights; forget less, or retrain on more data`,
    );
  }
}

/** ‖x − y‖_F / ‖y‖_F (0 when both are zero). */
export function relativeDifference(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < y.length; i++) {
    d += (x[i]! - y[i]!) ** 2;
    n += y[i]! ** 2;
  }
  return n === 0 ? Math.sqrt(d) : Math.sqrt(d / n);
}

/** max |x − y| / max |y|: the entrywise difference relative to the largest entry (0 when both are zero). */
export function maxRelativeDifference(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    d = Math.max(d, Math.abs(x[i]! - y[i]!));
    s = Math.max(s, Math.abs(y[i]!));
  }
  return s === 0 ? d : d / s;
}

/** The larger of the statistics differences of A and B (`maxRelativeDifference` of each). */
export function statisticsDifference(x: LinearStats, y: LinearStats): number {
  return Math.max(maxRelativeDifference(x.a, y.a), maxRelativeDifference(x.b, y.b));
}

/** An ISO 8601 time as milliseconds; a malformed one is refused naming `field`. */
export function parseTime(value: string, field: string): number {
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t)) throw new InvalidInputError(`${field}: ${JSON.stringify(value)} is not a time (ISO 8601, e.g. 2026-01-31T00:00:00Z)`);
  return t;
}

/**
 * Splits an estimator's contributions into those `select` names and the rest.
 * Every listed id must be one of the estimator's (refused naming it otherwise); a
 * site or time that matches nothing is refused too, so a typo never forgets nothing
 * silently. An id listed twice in the estimator (a merge of estimators that share a
 * contribution) is removed every time it occurs.
 */
export function selectContributions(list: Contribution[], select: ContributionSelector, estimator: string): { removed: Contribution[]; remaining: Contribution[] } {
  const ids = new Set(select.contributions ?? []);
  if (!ids.size && select.site === undefined && select.before === undefined) throw new InvalidInputError('forget: name what to forget (contributions, site or before)');
  const known = new Set(list.map((c) => c.id));
  for (const id of ids)
    if (!known.has(id)) throw new InvalidInputError(`contribution ${id} is not part of estimator ${estimator} (its contributions: ${[...known].map((k) => k.slice(0, 12)).join(', ')})`);
  if (select.site !== undefined && !list.some((c) => c.site === select.site)) {
    const sites = [...new Set(list.flatMap((c) => (c.site ? [c.site] : [])))];
    throw new InvalidInputError(`site ${select.site} contributed nothing to estimator ${estimator} (its sites: ${sites.join(', ') || 'none'})`);
  }
  const before = select.before === undefined ? null : parseTime(select.before, 'before');
  if (before !== null && !list.some((c) => Date.parse(c.arrivedAt) < before)) throw new InvalidInputError(`no contribution of estimator ${estimator} arrived before ${select.before}`);
  const chosen = (c: Contribution) => ids.has(c.id) || (select.site !== undefined && c.site === select.site) || (before !== null && Date.parse(c.arrivedAt) < before);
  return { removed: list.filter(chosen), remaining: list.filter((c) => !chosen(c)) };
}

/**
 * The contributions a sliding window drops at time `now` (ms): those older than
 * `milliseconds`, and all but the last `arrivals` (contributions are listed in
 * arrival order). Ids, so the forget can name them.
 */
export function expiredContributions(list: Contribution[], window: ScheduleWindow, now: number): string[] {
  const old = window.milliseconds === undefined ? [] : list.filter((c) => Date.parse(c.arrivedAt) < now - window.milliseconds!);
  const beyond = window.arrivals === undefined ? [] : list.slice(0, Math.max(0, list.length - window.arrivals));
  return [...new Set([...old, ...beyond].map((c) => c.id))];
}
