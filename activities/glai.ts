/**
 * GLAI activities (METHODS.md §3): freeze a trained model as the structure, fit
 * the linear estimator in one pass over a data split (optionally on top of stored
 * statistics: incremental retraining reads only the new samples), merge
 * estimators, evaluate. Statistics live in the store as bundles (float64 A and B),
 * never in payloads.
 */
import * as tf from '@tensorflow/tfjs';
import { Context } from '@temporalio/activity';
import { selectBackend } from '../ml/backend/select.js';
import { modelFromParts } from '../ml/models/io.js';
import { selectorLogits, selectorWeights, structureId, type SelectorWeights } from '../ml/glai/selector.js';
import { biasFeatures, checkFeatureSpec, featureDim, gatesOf, type FeatureSpec } from '../ml/glai/features.js';
import { glaiLayers } from '../contracts/glai-head.js';
import { addStats, emptyStats, type LinearStats } from '../ml/glai/statistics.js';
import { DEFAULT_SOLVE, activeBlas, solveStatistics, type SolvePlan } from '../ml/glai/solve.js';
import { bohningRefine, REFINE_LAMBDA } from '../ml/glai/refine.js';
import { selectorPrior } from '../ml/glai/prior.js';
import { linearLogits } from '../ml/glai/estimator.js';
import { accumulateParts, splitAccuracy, splitParts } from './glai-data.js';
import { splitSchema } from './splits.js';
import { InvalidInputError } from '../contracts/errors.js';
import { openStore } from '../storage/open.js';
import { encodeBundle } from '../storage/bundle.js';
import type { EstimatorRef, ModelRefs, Ref, StructureRef } from '../contracts/types.js';
import type { EstimatorScores, FitSettings, SiteActivities } from '../contracts/activities.js';
import { readBundle, readModel, readSplit } from './artifacts.js';
import { rawSplitToData } from '../ml/train/thread-protocol.js';
import { toLabelled } from '../ml/data/dataset.js';
import type { LabelledData } from '../ml/train/data.js';
import { loadShard } from './sources.js';
import { mergedContributions, withContribution, type Origin } from './contributions.js';
import { storedPlan, type EstimatorMeta } from '../ml/glai/estimator-meta.js';
import type { Contribution } from '../contracts/forget.js';

async function loadSelector(structure: StructureRef) {
  await selectBackend();
  const parts = await readModel(structure.model);
  const id = structureId(parts);
  if (id !== structure.id) throw new InvalidInputError(`structure ${structure.id}: its model hashes to ${id}; the artifact does not match its id`);
  const model = await modelFromParts(parts);
  return { model, weights: selectorWeights(model) };
}

/** An estimator as stored: training and validation statistics, the prior, how it is solved, the solved weights. */
interface StoredEstimator {
  stats: LinearStats;
  /** Validation statistics (null: none were given; λ was then fixed). */
  val: LinearStats | null;
  /** U_sel (null: the feature map cannot express the selector, or an estimator stored before priors). */
  prior: Float64Array | null;
  plan: SolvePlan;
  w: Float32Array;
  /** The contributions its statistics sum (activities/contributions.ts; absent: stored before provenance). */
  contributions?: Contribution[];
}

async function readEstimator(e: EstimatorRef): Promise<StoredEstimator> {
  const b = await readBundle(e.ref);
  const m = b.meta as EstimatorMeta;
  if (m.kind !== 'glai-estimator') throw new InvalidInputError(`${e.ref.uri} is a ${m.kind}, not a GLAI estimator`);
  const statsOf = (count: number, a: unknown, bb: unknown): LinearStats => ({
    structureId: m.structureId,
    spec: m.spec,
    dim: m.dim,
    classes: m.classes,
    count,
    a: a as Float64Array,
    b: bb as Float64Array,
  });
  return {
    stats: statsOf(m.count, b.arrays.a, b.arrays.b),
    val: b.arrays.av ? statsOf(m.validationCount ?? 0, b.arrays.av, b.arrays.bv) : null,
    prior: (b.arrays.prior as Float64Array | undefined) ?? null,
    plan: storedPlan(m),
    w: b.arrays.w as Float32Array,
    contributions: m.contributions,
  };
}

/** Böhning-refined weights of a new fit and the record of its steps. */
type Refined = Awaited<ReturnType<typeof bohningRefine>>;

/**
 * Solves the statistics the way the estimator's plan says (ml/glai/solve.ts) and
 * stores everything a later update, merge or forgetting needs to re-solve it: A, B,
 * the validation A_v, B_v, U_sel, the plan and the record of how λ was chosen. With
 * `refined`, its weights are stored instead of the ridge's (a re-solve gives the ridge).
 * `from`: an update's previous λ, where the search for λ starts (solve.ts's `walk`).
 */
async function writeEstimator(store: string, e: Omit<StoredEstimator, 'w'>, refined?: Refined, from?: number): Promise<EstimatorRef> {
  const ridge = solveStatistics(e.stats, e.val, e.prior, e.plan, activeBlas(), from);
  const record = refined ? { ...ridge.record, refined: refined.steps } : ridge.record;
  const { a, b, ...meta } = e.stats;
  const arrays = { a, b, w: Float32Array.from(refined?.w ?? ridge.w), ...(e.val ? { av: e.val.a, bv: e.val.b } : {}), ...(e.prior ? { prior: e.prior } : {}) };
  const bundle = {
    meta: { kind: 'glai-estimator', ...meta, lambda: record.lambda, plan: e.plan, solve: record, validationCount: e.val?.count ?? 0, ...(e.contributions ? { contributions: e.contributions } : {}) },
    arrays,
  };
  const ref = await openStore(store).put(encodeBundle(bundle));
  return { ref, structureId: e.stats.structureId, count: e.stats.count, dim: e.stats.dim, solve: record, features: { valueLayer: e.stats.spec.valueLayer, gateLayers: gatesOf(e.stats.spec) } };
}

/** Freezes a trained model as the GLAI path selector; returns its structure id. */
export async function extractStructure(input: { model: ModelRefs }): Promise<StructureRef> {
  await selectBackend();
  const parts = await readModel(input.model);
  const model = await modelFromParts(parts);
  try {
    selectorWeights(model);
  } finally {
    model.dispose();
  }
  return { id: structureId(parts), model: input.model };
}

/** The plan of a new estimator from the fit settings and the selector (bias features from the feature map). */
function newPlan(input: FitSettings, weights: SelectorWeights, spec: FeatureSpec): SolvePlan {
  return { ...DEFAULT_SOLVE, ...input.solve, lambda: input.lambda, biasFeatures: biasFeatures(weights, spec) };
}

/** The data of a fit: its samples part by part (shard by shard for a sharded split), and the whole for the refinement. */
interface FitData {
  count: number;
  parts: AsyncIterable<LabelledData>;
  whole(): Promise<LabelledData>;
}

/** Data already in memory as the one part of a fit. */
function inMemory(d: LabelledData): FitData {
  return {
    count: d.count,
    parts: (async function* () {
      yield d;
    })(),
    whole: async () => d,
  };
}

/**
 * One pass of sufficient statistics over `data` on top of `previous` (or from zero)
 * — and over the validation split when given for a new estimator (an update keeps
 * the stored validation statistics) — solved and stored; heartbeats progress.
 */
async function fit(input: FitSettings, data: () => Promise<FitData>, origin: Origin): Promise<EstimatorRef> {
  const { model, weights } = await loadSelector(input.structure);
  try {
    let e: Omit<StoredEstimator, 'w'>;
    if (input.previous) {
      const prev = await readEstimator(input.previous);
      if (prev.stats.structureId !== input.structure.id) {
        throw new InvalidInputError(`estimator ${input.previous.ref.uri} was trained on structure ${prev.stats.structureId}, not ${input.structure.id}`);
      }
      e = prev;
    } else {
      // The config's defaults (contracts/glai-head.ts): values of layer 0, gated on every hidden layer.
      const { valueLayer, gateLayers } = glaiLayers({ valueLayer: input.features?.valueLayer ?? 0, ...input.features }, weights.kernels.length - 1);
      const spec: FeatureSpec = { valueLayer, gateLayer: gateLayers[0]!, gateLayers };
      checkFeatureSpec(weights, spec);
      const empty = () => emptyStats(input.structure.id, spec, featureDim(weights, spec), weights.kernels.at(-1)!.shape[1]);
      e = { stats: empty(), val: input.validation ? empty() : null, prior: await selectorPrior(weights, spec), plan: newPlan(input, weights, spec) };
    }
    const ctx = activityContext();
    let progress = { done: 0, total: 0 };
    const train = await data();
    const validation = !input.previous ? (input.validation ?? null) : null;
    const val = validation ? await splitParts(validation) : null;
    const total = train.count + (val?.count ?? 0);
    // The pass starts from zero and is stored as a contribution of its own (activities/contributions.ts), so it can be forgotten exactly.
    const pass = emptyStats(e.stats.structureId, e.stats.spec, e.stats.dim, e.stats.classes);
    await accumulateParts(pass, weights, train.parts, (done) => ctx?.heartbeat((progress = { done, total })));
    if (val) await accumulateParts(e.val!, weights, val.parts, (done) => ctx?.heartbeat((progress = { done: train.count + done, total })));
    // Solving and storing may take a while (and wait out a store outage, storage/retry.ts): keep heartbeating so the finished pass is not redone.
    const beat = ctx ? setInterval(() => ctx.heartbeat(progress), Math.max(1000, Math.min(10_000, (ctx.info.heartbeatTimeoutMs ?? 30_000) / 3))) : null;
    try {
      const previous = input.previous ? { stats: e.stats, contributions: e.contributions, uri: input.previous.ref.uri } : null;
      e = { ...e, ...(await withContribution(input.store, previous, pass, origin)) };
      // The refinement re-reads both splits, whole (ml/glai/refine.ts).
      const refined = validation && input.refineSteps ? await refine(e, weights, await train.whole(), rawSplitToData(await readSplit(validation)), input.refineSteps) : undefined;
      return await writeEstimator(input.store, e, refined, input.previous?.solve?.lambda);
    } finally {
      if (beat) clearInterval(beat);
    }
  } finally {
    model.dispose();
  }
}

/** Böhning passes from U_sel (or, without one, from the ridge solution), the best validation step kept. */
async function refine(e: Omit<StoredEstimator, 'w'>, weights: SelectorWeights, train: LabelledData, val: LabelledData, steps: number): Promise<Refined> {
  const start = e.prior ?? solveStatistics(e.stats, e.val, null, e.plan).w;
  return bohningRefine(weights, e.stats.spec, e.stats, start, e.prior, e.plan, { steps, lambda: REFINE_LAMBDA }, train, val, activeBlas());
}

/** The activity context, or null outside an activity (library use). */
function activityContext(): Context | null {
  try {
    return Context.current();
  } catch {
    return null;
  }
}

/**
 * Fits the linear estimator on `data` in one pass (sufficient statistics), added
 * to `previous` when given: the update reads only `data`, the structure is unchanged.
 */
export async function fitEstimator(input: FitSettings & { data: Ref }): Promise<EstimatorRef> {
  return fit(input, async () => ({ ...(await splitParts(input.data)), whole: async () => rawSplitToData(await readSplit(input.data)) }), { source: input.origin ?? input.data.uri });
}

/**
 * The activities of a federated site worker (queue `lightpath-site-<name>`): fit an
 * estimator on the site's own data, which never leaves the site; only the
 * statistics travel, as an artifact.
 */
export function siteActivities(site: string, source: string): SiteActivities {
  return {
    /** Fits this site's estimator on its local data (`source`, given when the worker started). */
    async fitSiteEstimator(input: FitSettings): Promise<EstimatorRef> {
      return fit(input, async () => inMemory(toLabelled(await loadShard(source, `site ${site} data`, input.like ? await splitSchema(input.like) : undefined))), {
        source: input.origin ?? `site ${site} data`,
        site,
      });
    },
  };
}

/**
 * Merges estimators by summing their statistics (exact) — training and, where
 * stored, validation statistics — and re-solves with the first one's plan (λ
 * re-chosen on the summed validation statistics); refuses different structures,
 * naming both ids.
 */
export async function mergeEstimators(input: { store: string; estimators: EstimatorRef[] }): Promise<EstimatorRef> {
  const all = await Promise.all(input.estimators.map(readEstimator));
  const stats = addStats(all.map((e) => e.stats));
  const vals = all.flatMap((e) => (e.val ? [e.val] : []));
  const contributions = await mergedContributions(
    input.store,
    all.map((e, k) => ({ ...e, uri: input.estimators[k]!.ref.uri })),
  );
  return writeEstimator(input.store, { stats, val: vals.length ? addStats(vals) : null, prior: all[0]!.prior, plan: all[0]!.plan, contributions });
}

/** Test accuracy of an estimator (on its structure) and of the selector itself. */
export async function evaluateEstimator(input: { structure: StructureRef; estimator: EstimatorRef; test: Ref }): Promise<EstimatorScores> {
  const { model, weights } = await loadSelector(input.structure);
  const { stats, w } = await readEstimator(input.estimator);
  const u = tf.tensor2d(w, [stats.dim, stats.classes]);
  try {
    return {
      estimatorAccuracy: await splitAccuracy(input.test, (x) => linearLogits(weights, stats.spec, u, x)),
      selectorAccuracy: await splitAccuracy(input.test, (x) => selectorLogits(weights, x)),
    };
  } finally {
    u.dispose();
    model.dispose();
  }
}
