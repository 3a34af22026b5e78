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
import { selectorWeights, structureId } from '../ml/glai/selector.js';
import { checkFeatureSpec, featureDim, type FeatureSpec } from '../ml/glai/features.js';
import { accumulateStats, addStats, emptyStats, solveStats, type LinearStats } from '../ml/glai/statistics.js';
import { accuracyOf, linearLogits } from '../ml/glai/estimator.js';
import { InvalidInputError } from '../contracts/errors.js';
import { openStore } from '../storage/open.js';
import { encodeBundle } from '../storage/bundle.js';
import type { EstimatorRef, ModelRefs, Ref, StructureRef } from '../contracts/types.js';
import type { EstimatorScores, FitSettings, SiteActivities } from '../contracts/activities.js';
import { readBundle, readDataset, readModel, readSplit } from './artifacts.js';
import { rawSplitToData } from '../ml/train/thread-protocol.js';
import { toLabelled } from '../ml/data/dataset.js';
import type { LabelledData } from '../ml/train/data.js';
import { loadShard } from './sources.js';

async function loadSelector(structure: StructureRef) {
  await selectBackend();
  const parts = await readModel(structure.model);
  const id = structureId(parts);
  if (id !== structure.id) throw new InvalidInputError(`structure ${structure.id}: its model hashes to ${id}; the artifact does not match its id`);
  const model = await modelFromParts(parts);
  return { model, weights: selectorWeights(model) };
}

async function readEstimator(e: EstimatorRef): Promise<{ stats: LinearStats; w: Float32Array; lambda: number }> {
  const b = await readBundle(e.ref);
  const m = b.meta as { kind: string; structureId: string; spec: FeatureSpec; dim: number; classes: number; count: number; lambda: number };
  if (m.kind !== 'glai-estimator') throw new InvalidInputError(`${e.ref.uri} is a ${m.kind}, not a GLAI estimator`);
  return {
    stats: { structureId: m.structureId, spec: m.spec, dim: m.dim, classes: m.classes, count: m.count, a: b.arrays.a as Float64Array, b: b.arrays.b as Float64Array },
    w: b.arrays.w as Float32Array,
    lambda: m.lambda,
  };
}

async function writeEstimator(store: string, stats: LinearStats, lambda: number): Promise<EstimatorRef> {
  const w = Float32Array.from(solveStats(stats, lambda));
  const { a, b, ...meta } = stats;
  const ref = await openStore(store).put(encodeBundle({ meta: { kind: 'glai-estimator', ...meta, lambda }, arrays: { a, b, w } }));
  return { ref, structureId: stats.structureId, count: stats.count, dim: stats.dim };
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

/** One pass of sufficient statistics over `data` on top of `previous` (or from zero), solved and stored; heartbeats progress. */
async function fit(input: FitSettings, data: () => Promise<LabelledData>): Promise<EstimatorRef> {
  const { model, weights } = await loadSelector(input.structure);
  try {
    const hidden = weights.kernels.length - 1;
    let stats: LinearStats;
    let lambda = input.lambda;
    if (input.previous) {
      const prev = await readEstimator(input.previous);
      if (prev.stats.structureId !== input.structure.id) {
        throw new InvalidInputError(`estimator ${input.previous.ref.uri} was trained on structure ${prev.stats.structureId}, not ${input.structure.id}`);
      }
      stats = prev.stats;
      lambda = prev.lambda;
    } else {
      const spec: FeatureSpec = { valueLayer: input.features?.valueLayer ?? 0, gateLayer: input.features?.gateLayer ?? hidden - 1 };
      checkFeatureSpec(weights, spec);
      stats = emptyStats(input.structure.id, spec, featureDim(weights, spec), weights.kernels.at(-1)!.shape[1]);
    }
    const ctx = activityContext();
    let progress = { done: 0, total: 0 };
    await accumulateStats(stats, weights, await data(), (done, total) => ctx?.heartbeat((progress = { done, total })));
    // Storing the statistics may wait out a store outage (storage/retry.ts): keep heartbeating so the finished pass is not redone.
    const beat = ctx ? setInterval(() => ctx.heartbeat(progress), Math.max(1000, Math.min(10_000, (ctx.info.heartbeatTimeoutMs ?? 30_000) / 3))) : null;
    try {
      return await writeEstimator(input.store, stats, lambda);
    } finally {
      if (beat) clearInterval(beat);
    }
  } finally {
    model.dispose();
  }
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
  return fit(input, async () => rawSplitToData(await readSplit(input.data)));
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
      return fit(input, async () => toLabelled(await loadShard(source, `site ${site} data`, input.like ? await readDataset(input.like) : undefined)));
    },
  };
}

/** Merges estimators by summing their statistics (exact); refuses different structures, naming both ids. */
export async function mergeEstimators(input: { store: string; estimators: EstimatorRef[] }): Promise<EstimatorRef> {
  const all = await Promise.all(input.estimators.map(readEstimator));
  return writeEstimator(input.store, addStats(all.map((e) => e.stats)), all[0]!.lambda);
}

/** Test accuracy of an estimator (on its structure) and of the selector itself. */
export async function evaluateEstimator(input: { structure: StructureRef; estimator: EstimatorRef; test: Ref }): Promise<EstimatorScores> {
  const { model, weights } = await loadSelector(input.structure);
  const { stats, w } = await readEstimator(input.estimator);
  const u = tf.tensor2d(w, [stats.dim, stats.classes]);
  try {
    const test = rawSplitToData(await readSplit(input.test));
    return {
      estimatorAccuracy: await accuracyOf(test, (x) => linearLogits(weights, stats.spec, u, x)),
      selectorAccuracy: await accuracyOf(test, (x) => model.apply(x) as tf.Tensor2D),
    };
  } finally {
    u.dispose();
    model.dispose();
  }
}
