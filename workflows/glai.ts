/**
 * GLAI workflows (METHODS.md §3). `incrementalRetrain` updates a stored estimator
 * with a new data shard — reading only the new samples, the structure unchanged.
 * `mergeModels` merges estimators exactly by summing their statistics; in federated
 * mode it first fans out to the sites, each a worker on its own task queue that fits
 * on its own data, tolerating a configured number of failed sites. Finished sites
 * are in the workflow's history, so a crash never recomputes them.
 */
import { ActivityFailure, ApplicationFailure, setHandler } from '@temporalio/workflow';
import type { FeatureOptions, GlaiSolveOptions } from '../contracts/activities.js';
import { sitesQuery } from '../contracts/signals.js';
import { cpuActivities, gpuActivities, siteActivities } from './activities.js';
import type { EstimatorRef, GlaiOutcome, Ref, SiteOutcome, StructureRef } from '../contracts/types.js';

const cpu = cpuActivities();
const gpu = gpuActivities();

export type { FeatureOptions } from '../contracts/activities.js';

/** Input of `incrementalRetrain`: the new data as a stored split (`data`) or a source a worker reads (`source`, `<source>[#k/n]`). */
export interface IncrementalRetrainInput {
  store: string;
  structure: StructureRef;
  /** The estimator to update; none: fit a new one on the data alone. */
  previous?: EstimatorRef | null;
  data?: Ref;
  source?: string;
  lambda?: number;
  features?: FeatureOptions;
  /** Solve settings of a new estimator (an update keeps the stored ones). */
  solve?: Partial<Omit<GlaiSolveOptions, 'lambda'>>;
  /** Validation split of a new estimator: λ is chosen on its statistics (an update re-chooses on the stored ones). */
  validation?: Ref | null;
  /** Test split to score the result on. */
  test?: Ref | null;
}

/** The updated estimator, the shard it read and its scores. */
export interface IncrementalRetrainResult extends GlaiOutcome {
  data: Ref;
  /** Samples read: those of the new shard only. */
  added: number;
}

/** Updates `previous` with the statistics of the new data; without `previous`, fits a new estimator on it. */
export async function incrementalRetrain(input: IncrementalRetrainInput): Promise<IncrementalRetrainResult> {
  if (!input.data === !input.source) throw ApplicationFailure.nonRetryable('incrementalRetrain: give exactly one of data (a stored split) or source', 'InvalidInput');
  const data = input.data ?? (await cpu.importShard({ store: input.store, source: input.source!, like: input.test ?? null }));
  const estimator = await gpu.fitEstimator({
    store: input.store,
    structure: input.structure,
    data,
    lambda: input.lambda ?? 1e-3,
    features: input.features,
    solve: input.solve,
    validation: input.validation ?? null,
    previous: input.previous ?? null,
  });
  return { ...(await scored(input.structure, estimator, input.test ?? null)), data, added: estimator.count - (input.previous?.count ?? 0) };
}

/** Input of `mergeModels`: stored estimators and/or federated sites to fit first. */
export interface MergeModelsInput {
  store: string;
  structure: StructureRef;
  estimators?: EstimatorRef[];
  /** Site names; each fits on its own data on `lightpath-site-<name>`. */
  sites?: string[];
  /** Sites that may fail (recorded in the result) while the merge still completes; default 0. */
  maxFailedSites?: number;
  /** Time a site has, including waiting for its worker; default 3600 s. */
  siteTimeoutSeconds?: number;
  /** A site worker that stops heartbeating this long is presumed dead and its fit retried; default 60 s. */
  siteHeartbeatSeconds?: number;
  lambda?: number;
  features?: FeatureOptions;
  solve?: Partial<Omit<GlaiSolveOptions, 'lambda'>>;
  /** Validation split every site also accumulates (λ of the merge is chosen on their sum). */
  validation?: Ref | null;
  test?: Ref | null;
}

/** The merged estimator, every site's outcome and the scores. */
export interface MergeModelsResult extends GlaiOutcome {
  sites: SiteOutcome[];
  /** Estimators merged (stored ones plus the sites'). */
  merged: number;
}

/** Merges estimators (one structure) into one: exact, by summing statistics; refuses different structures, naming both ids. */
export async function mergeModels(input: MergeModelsInput): Promise<MergeModelsResult> {
  const sites: SiteOutcome[] = (input.sites ?? []).map((site) => ({ site, status: 'running', estimator: null, error: null }));
  setHandler(sitesQuery, () => sites);
  await Promise.all(
    sites.map(async (s) => {
      const site = siteActivities(s.site, input.siteTimeoutSeconds ?? 3600, input.siteHeartbeatSeconds ?? 60);
      try {
        s.estimator = await site.fitSiteEstimator({
          store: input.store,
          structure: input.structure,
          lambda: input.lambda ?? 1e-3,
          // The stored estimators' feature map unless one is named, so the sites' statistics merge with theirs.
          features: input.features ?? input.estimators?.find((e) => e.features)?.features,
          solve: input.solve,
          validation: input.validation ?? null,
          like: input.test ?? null,
        });
        s.status = 'merged';
      } catch (e) {
        if (!(e instanceof ActivityFailure)) throw e;
        s.status = 'failed';
        s.error = (e.cause ?? e).message;
      }
    }),
  );
  const failed = sites.filter((s) => s.status === 'failed');
  if (failed.length > (input.maxFailedSites ?? 0)) {
    throw ApplicationFailure.nonRetryable(`${failed.length} site(s) failed, at most ${input.maxFailedSites ?? 0} allowed: ${failed.map((s) => `${s.site} (${s.error})`).join('; ')}`, 'SitesFailed');
  }
  const all = [...(input.estimators ?? []), ...sites.flatMap((s) => (s.estimator ? [s.estimator] : []))];
  if (all.length === 0) throw ApplicationFailure.nonRetryable('mergeModels: nothing to merge (no estimators, no site finished)', 'InvalidInput');
  const estimator = await cpu.mergeEstimators({ store: input.store, estimators: all });
  return { ...(await scored(input.structure, estimator, input.test ?? null)), sites, merged: all.length };
}

/** The outcome of an estimator, scored on `test` when given. */
async function scored(structure: StructureRef, estimator: EstimatorRef, test: Ref | null): Promise<GlaiOutcome> {
  const scores = test ? await gpu.evaluateEstimator({ structure, estimator, test }) : null;
  return { structure, estimator, test, estimatorAccuracy: scores?.estimatorAccuracy ?? null, selectorAccuracy: scores?.selectorAccuracy ?? null };
}
