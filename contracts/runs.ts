/**
 * What a run reports about itself, as zod schemas with the TypeScript types derived
 * from them: per-epoch metrics, live progress, the pipeline's stages, and runs as
 * the client lists and describes them. The HTTP API validates and documents its
 * responses with the same schemas.
 */
import { z } from 'zod';

/** The pipeline's stages, in order (`fromStage` of a resume reruns one and everything after it). */
export const STAGES = ['prepare', 'initialize', 'train', 'evaluate', 'structure', 'estimator'] as const;
export type PipelineStage = (typeof STAGES)[number];

/** Where a running pipeline is: a stage, `search` (weight-decay search), or how it ended. */
export const PROGRESS_STAGES = ['prepare', 'initialize', 'search', 'train', 'evaluate', 'structure', 'estimator', 'done', 'failed', 'cancelled'] as const;

/** Metrics of one training epoch. */
export const EpochMetricsSchema = z.object({
  epoch: z.number(),
  loss: z.number(),
  trainAccuracy: z.number(),
  valAccuracy: z.number().nullable(),
  oui: z.number(),
  seconds: z.number(),
  samplesPerSecond: z.number(),
  /** Share of probe-set ReLU bits that flipped this epoch (with `glai.stabilization`). */
  patternChange: z.number().optional(),
  /** Relative L2 change of the weights this epoch (with `glai.stabilization`). */
  weightChange: z.number().optional(),
});
export type EpochMetrics = z.infer<typeof EpochMetricsSchema>;

/** Live progress of a pipeline, returned by its `progress` query. */
export const ProgressSchema = z.object({
  stage: z.enum(PROGRESS_STAGES),
  epoch: z.number(),
  epochs: z.number(),
  batch: z.number().nullable(),
  batches: z.number().nullable(),
  metrics: EpochMetricsSchema.nullable().describe('the latest epoch'),
  backend: z.string().nullable(),
});
export type Progress = z.infer<typeof ProgressSchema>;

/** The lightpath workflow types and what run listings call them. */
export const RUN_KINDS = { trainPipeline: 'pipeline', incrementalRetrain: 'retrain', mergeModels: 'merge', scheduledRetrain: 'scheduled-retrain', forgetContributions: 'forget' } as const;
export type RunKind = (typeof RUN_KINDS)[keyof typeof RUN_KINDS];

/** One run as a listing shows it. */
export const RunSummarySchema = z.object({
  runId: z.string(),
  kind: z.enum(Object.values(RUN_KINDS)).describe(Object.values(RUN_KINDS).join(', ')),
  status: z.string().describe('Temporal execution status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT…'),
  startTime: z.string(),
  closeTime: z.string().nullable(),
  resumedFrom: z.string().nullable().describe('the run this one continues'),
  forgets: z.string().nullable().optional().describe('forget runs: the run whose estimator this one forgets from'),
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

/** A run in detail: its summary, live progress (pipelines, while running), result or failure. */
export const RunInfoSchema = RunSummarySchema.extend({
  progress: ProgressSchema.nullable().describe('pipelines: live stage, epoch and metrics'),
  result: z.unknown().describe('once COMPLETED: the pipeline result (test accuracy, history, model, manifest…) or the GLAI outcome of a retrain or merge'),
  failure: z.string().nullable().describe('the root cause of a failed run, in one line'),
});
export type RunInfo = z.infer<typeof RunInfoSchema>;
