/** Workflow entry points (the bundle Temporal's worker loads). */
export { trainPipeline, progressQuery, trainingProgressSignal } from './train-pipeline.js';
export { weightDecaySearch, candidatesQuery, decisionsQuery, stopCandidateSignal, stopSearchSignal, setWeightDecaySignal, setBandSignal } from './weight-decay-search.js';
