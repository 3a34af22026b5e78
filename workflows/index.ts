/**
 * lightpath's workflows (`lightpath/workflows`): the module Temporal's bundler
 * loads on `lightpath` workers, and the functions a client starts by reference
 * (`client.workflow.start(trainPipeline, { taskQueue: CPU_TASK_QUEUE, … })`), with
 * their input and result types. Signal and query definitions are in
 * `lightpath/contracts`.
 */
export { trainPipeline, type TrainPipelineInput } from './train-pipeline.js';
export { weightDecaySearch, type WeightDecaySearchInput, type WeightDecaySearchResult } from './weight-decay-search.js';
export { incrementalRetrain, mergeModels, type FeatureOptions, type IncrementalRetrainInput, type IncrementalRetrainResult, type MergeModelsInput, type MergeModelsResult } from './glai.js';
export { forgetContributions, type ForgetInput, type ForgetResult } from './forget.js';
export { scheduledRetrain, scheduledRetrainRound, type ScheduledRetrainInput } from './scheduled-retrain.js';
export type { PipelineResult } from '../contracts/types.js';
