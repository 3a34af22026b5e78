/**
 * `forgetContributions` (METHODS.md §3): remove a site, a shard or a time window from
 * a GLAI estimator exactly — subtract the named contributions' statistics, re-solve,
 * prove the result against the remaining contributions summed afresh, score it, and
 * optionally delete the removed statistics from the store. The estimator it replaces
 * stays (artifacts are immutable); the new one's manifest links it.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import type { ForgetInput, ForgetResult } from '../contracts/forget.js';
import { cpuActivities, gpuActivities } from './activities.js';

const cpu = cpuActivities();
const gpu = gpuActivities();

export type { ForgetInput, ForgetResult } from '../contracts/forget.js';

/** Forgets the selected contributions of `estimator`; the result holds the new estimator, the proof and the scores. */
export async function forgetContributions(input: ForgetInput): Promise<ForgetResult> {
  const s = input.select;
  if (!s.contributions?.length && s.site === undefined && s.before === undefined) {
    throw ApplicationFailure.nonRetryable('forgetContributions: name what to forget (contributions, site or before)', 'InvalidInput');
  }
  const out = await cpu.forgetStatistics({ store: input.store, estimator: input.estimator, select: s, prove: true });
  const scores = input.test ? await gpu.evaluateEstimator({ structure: input.structure, estimator: out.estimator, test: input.test }) : null;
  const purged = input.purge ? await cpu.purgeContributions({ store: input.store, removed: out.removed }) : [];
  return {
    structure: input.structure,
    estimator: out.estimator,
    test: input.test ?? null,
    estimatorAccuracy: scores?.estimatorAccuracy ?? null,
    selectorAccuracy: scores?.selectorAccuracy ?? null,
    replaces: input.estimator,
    removed: out.removed,
    remaining: out.remaining,
    exactness: out.exactness!,
    seconds: out.seconds,
    purged,
  };
}
