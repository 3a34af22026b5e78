/**
 * Provenance of GLAI estimators in the store (METHODS.md §3): every pass of
 * statistics is stored as its own `glai-statistics` bundle (a contribution, named by
 * its SHA-256), and an estimator's manifest lists the contributions its statistics
 * sum, so any of them can be forgotten later (activities/forget.ts).
 */
import { InvalidInputError, MissingArtifactError } from '../contracts/errors.js';
import type { Contribution } from '../contracts/forget.js';
import type { Ref } from '../contracts/types.js';
import { addStats, type LinearStats } from '../ml/glai/statistics.js';
import { solveStatistics, type Solution } from '../ml/glai/solve.js';
import { storedPlan, type EstimatorMeta } from '../ml/glai/estimator-meta.js';
import { blobKey } from '../storage/artifact-store.js';
import { encodeBundle, type Bundle } from '../storage/bundle.js';
import { openStore } from '../storage/open.js';
import { readBundle } from './artifacts.js';

/** Bundle kind of a contribution's statistics. */
const STATISTICS_KIND = 'glai-statistics';

/** Where a contribution's samples came from (the time defaults to now). */
export interface Origin {
  source: string;
  site?: string | null;
  arrivedAt?: string;
}

/** Stores `stats` as a contribution artifact and returns its record. */
export async function putContribution(store: string, stats: LinearStats, origin: Origin): Promise<Contribution> {
  const { a, b, ...shape } = stats;
  const meta = { kind: STATISTICS_KIND, ...shape, source: origin.source, site: origin.site ?? null, arrivedAt: origin.arrivedAt ?? new Date().toISOString() };
  const ref = await openStore(store).put(encodeBundle({ meta, arrays: { a, b } }));
  return { id: ref.sha256, ref, count: stats.count, source: meta.source, site: meta.site, arrivedAt: meta.arrivedAt, structureId: stats.structureId };
}

/** Reads a contribution's statistics; refuses a purged one, another kind of artifact, or one whose structure disagrees with its record. */
export async function readContribution(c: Contribution): Promise<LinearStats> {
  const bundle = await readBundle(c.ref).catch((e: unknown) => {
    if (e instanceof MissingArtifactError)
      throw new InvalidInputError(`contribution ${c.id}: its statistics ${c.ref.uri} are no longer in the store (purged?); estimators listing it cannot be re-solved without it`);
    throw e;
  });
  const m = bundle.meta as Omit<LinearStats, 'a' | 'b'> & { kind: string };
  if (m.kind !== STATISTICS_KIND) throw new InvalidInputError(`contribution ${c.id}: ${c.ref.uri} is a ${m.kind}, not GLAI statistics`);
  if (m.structureId !== c.structureId) throw new InvalidInputError(`contribution ${c.id}: its statistics are of structure ${m.structureId}, its record says ${c.structureId}`);
  return { structureId: m.structureId, spec: m.spec, dim: m.dim, classes: m.classes, count: m.count, a: bundle.arrays.a as Float64Array, b: bundle.arrays.b as Float64Array };
}

/** The statistics an estimator bundle holds. */
export function statsOf(bundle: Bundle): LinearStats {
  const m = bundle.meta as EstimatorMeta;
  return { structureId: m.structureId, spec: m.spec, dim: m.dim, classes: m.classes, count: m.count, a: bundle.arrays.a as Float64Array, b: bundle.arrays.b as Float64Array };
}

/** An estimator's statistics with the contributions its manifest lists (none: written before provenance), and where it is stored. */
export interface Provenanced {
  stats: LinearStats;
  contributions?: Contribution[];
  uri: string;
}

/**
 * The contributions of an estimator. One written before provenance lists none: its
 * whole statistics become one contribution (stored now, in `store`), so what it sums
 * stays a list of removable parts.
 */
export async function contributionsOf(store: string, e: Provenanced): Promise<Contribution[]> {
  return e.contributions ?? [await putContribution(store, e.stats, { source: `estimator ${e.uri}`, arrivedAt: new Date(0).toISOString() })];
}

/** The statistics of `list` summed afresh, in list order, reading one contribution at a time. */
export async function sumContributions(list: Contribution[]): Promise<LinearStats> {
  if (!list.length) throw new InvalidInputError('no contributions to sum');
  let total = await readContribution(list[0]!);
  for (const c of list.slice(1)) total = addStats([total, await readContribution(c)]);
  return total;
}

/** When `id` is not one of an estimator's contributions: a hint when it is statistics of another structure in `store`. */
export async function foreignContribution(store: string, id: string, structureId: string): Promise<string | null> {
  if (!/^[0-9a-f]{64}$/.test(id)) return null;
  const s = openStore(store);
  const uri = `${s.root}${blobKey(id)}`;
  const found = await s.stat(uri).catch(() => null);
  if (!found) return null;
  const ref: Ref = { uri, sha256: id, bytes: found.bytes };
  const meta = (await readBundle(ref).catch(() => null))?.meta as { kind?: string; structureId?: string } | undefined;
  if (meta?.kind !== STATISTICS_KIND || meta.structureId === structureId) return null;
  return `contribution ${id} holds statistics of structure ${meta.structureId}, not this estimator's ${structureId}`;
}

/**
 * Solves `stats` the way the estimator in `bundle` was solved (ml/glai/solve.ts):
 * its plan, its validation statistics choosing λ, its selector prior. An estimator
 * stored before plans is plain ridge toward zero at its λ.
 */
export function solveLike(bundle: Bundle, stats: LinearStats): Solution {
  const m = bundle.meta as EstimatorMeta;
  const val = bundle.arrays.av ? { ...stats, count: m.validationCount ?? 0, a: bundle.arrays.av as Float64Array, b: bundle.arrays.bv as Float64Array } : null;
  const plan = storedPlan(m);
  return solveStatistics(stats, val, (bundle.arrays.prior as Float64Array | undefined) ?? null, plan);
}

/**
 * Adds a pass's statistics (accumulated from zero) to those of `previous` (none:
 * the pass is all): the pass is stored as a contribution of its own, and the total
 * is the previous total plus it. Returns both.
 */
export async function withContribution(store: string, previous: Provenanced | null, pass: LinearStats, origin: Origin): Promise<{ stats: LinearStats; contributions: Contribution[] }> {
  const added = await putContribution(store, pass, origin);
  if (!previous) return { stats: pass, contributions: [added] };
  return { stats: addStats([previous.stats, pass]), contributions: [...(await contributionsOf(store, previous)), added] };
}

/** The contributions of merged estimators: every list, in order. */
export async function mergedContributions(store: string, estimators: Provenanced[]): Promise<Contribution[]> {
  const lists = [];
  for (const e of estimators) lists.push(await contributionsOf(store, e));
  return lists.flat();
}
