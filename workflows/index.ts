/** Workflow entry points (the bundle Temporal's worker loads). */
export { trainPipeline, progressQuery, trainingProgressSignal } from './train-pipeline.js';
