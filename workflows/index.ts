/** Workflow entry points (the bundle Temporal's worker loads). */
export { trainPipeline, progressQuery } from './train-pipeline.js';
export { trainingProgressSignal } from './signals.js';
export { weightDecaySearch, candidatesQuery, decisionsQuery, stopCandidateSignal, stopSearchSignal, setWeightDecaySignal, setBandSignal } from './weight-decay-search.js';
export { incrementalRetrain, mergeModels } from './glai.js';
export { scheduledRetrain, scheduledRetrainRound } from './scheduled-retrain.js';
