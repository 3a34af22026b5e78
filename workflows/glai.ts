/**
 * GLAI workflows (METHODS.md §3): `incrementalRetrain` updates a stored estimator
 * with a new data shard — reading only the new samples, the structure unchanged —
 * and `mergeModels` merges estimators of several sites exactly by summing their
 * statistics. Both evaluate the result when given a test split.
 */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import type { EstimatorRef, StructureRef } from '../activities/glai.js';
import { CPU_TASK_QUEUE, GPU_TASK_QUEUE } from './queues.js';
import type { Ref } from './types.js';

const retry = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 };
const cpu = proxyActivities<typeof activities>({ taskQueue: CPU_TASK_QUEUE, startToCloseTimeout: '30 minutes', retry });
const gpu = proxyActivities<typeof activities>({ taskQueue: GPU_TASK_QUEUE, startToCloseTimeout: '2 hours', retry });

/** Scores of an estimator: its test accuracy and its selector's. */
export interface EstimatorScores {
  estimatorAccuracy: number;
  selectorAccuracy: number;
}

/**
 * Updates `previous` with the statistics of `data` (a stored image-set split); without
 * `previous`, fits a new estimator on `data` alone (a site's first estimator).
 */
export async function incrementalRetrain(input: { store: string; structure: StructureRef; previous?: EstimatorRef | null; data: Ref; lambda?: number; test?: Ref }): Promise<{ estimator: EstimatorRef; scores: EstimatorScores | null }> {
  const estimator = await gpu.fitEstimator({ store: input.store, structure: input.structure, data: input.data, lambda: input.lambda ?? 1e-3, previous: input.previous ?? null });
  const scores = input.test ? await gpu.evaluateEstimator({ structure: input.structure, estimator, test: input.test }) : null;
  return { estimator, scores };
}

/** Merges estimators (one structure) into one; refuses different structures, naming both ids. */
export async function mergeModels(input: { store: string; structure: StructureRef; estimators: EstimatorRef[]; test?: Ref }): Promise<{ estimator: EstimatorRef; scores: EstimatorScores | null }> {
  const estimator = await cpu.mergeEstimators({ store: input.store, estimators: input.estimators });
  const scores = input.test ? await gpu.evaluateEstimator({ structure: input.structure, estimator, test: input.test }) : null;
  return { estimator, scores };
}
