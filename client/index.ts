/**
 * `lightpath`: the typed client. `connect()` returns a client that starts
 * pipelines, incremental retrains and merges, follows, lists, cancels and resumes
 * runs, and manages retraining schedules; run records read a finished run's
 * manifest from the store. Bad input throws ConfigError naming the field.
 *
 *     import { connect } from 'lightpath';
 *     const lp = await connect();               // TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, profiles…
 *     const { runId, handle } = await lp.startPipeline({ data: { source: 'synthetic' } });
 *     console.log((await handle.result()).testAccuracy);
 */
export { connect, type ConnectOptions, type LightpathClient } from './connect.js';
export { rootCause, type RunFilter } from './runs.js';
export {
  OVERLAP_POLICIES,
  type OverlapPolicy,
  type CreateScheduleOptions,
  type ScheduleApi,
  type ScheduleAction,
  type ScheduleListEntry,
  type ScheduleStateSummary,
  type ScheduleTiming,
  type ScheduleView,
} from './schedules.js';
export { findRun, readRun, readRunAt, runMetrics, runConfig, type RunRecord, type RunMetrics, type SearchMetrics, type GlaiMetrics } from './run-record.js';
export { temporalSettings } from './temporal-config.js';
export { estimatorContributions, type ForgetOptions } from './forget.js';
export {
  ConfigError,
  type PipelineConfig,
  type PipelineConfigInput,
  type PipelineResult,
  type Progress,
  type RunInfo,
  type RunSummary,
  type RunKind,
  type PipelineStage,
  type GlaiOutcome,
  type Contribution,
  type ForgetResult,
} from '../contracts/index.js';
