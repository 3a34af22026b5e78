/**
 * `lightpath/contracts`: the shared language of lightpath's workflows, activities,
 * client, CLI and HTTP API — the pipeline config schema and its types, run and
 * progress schemas, queue names, signal and query definitions, stage names, the
 * activity interfaces per worker role, and the error types. No runtime dependency
 * but zod.
 */
export { PipelineConfigSchema, parsePipelineConfig, INITIALIZER_NAMES, type PipelineConfig, type PipelineConfigInput } from './config.js';
export { ConfigError, InvalidInputError, CorruptArtifactError, MissingArtifactError, BadStoreUriError, BadWatchLocationError } from './errors.js';
export { CPU_TASK_QUEUE, GPU_TASK_QUEUE, SITE_NAME, siteTaskQueue } from './queues.js';
export {
  STAGES,
  PROGRESS_STAGES,
  RUN_KINDS,
  EpochMetricsSchema,
  ProgressSchema,
  RunSummarySchema,
  RunInfoSchema,
  type PipelineStage,
  type EpochMetrics,
  type Progress,
  type RunKind,
  type RunSummary,
  type RunInfo,
} from './runs.js';
export { trainingProgressSignal, progressQuery, candidatesQuery, decisionsQuery, stopCandidateSignal, stopSearchSignal, setWeightDecaySignal, setBandSignal, sitesQuery } from './signals.js';
export type { Candidate, Decision } from './search.js';
export type { CpuActivities, GpuActivities, SiteActivities, FeatureOptions, FitSettings, EstimatorScores } from './activities.js';
export type * from './types.js';
export type * from './schedule-state.js';
export { SCHEDULE_ID, RUN_LOG_LIMIT, scheduleStateKey } from './schedule-state.js';
export type * from './forget.js';
export { FORGET_TOLERANCE } from './forget.js';
