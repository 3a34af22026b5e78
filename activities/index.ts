/** All lightpath activities (registered by the workers; workflows import only their types). */
export { prepareData, importShard } from './data.js';
export { initializeModel, evaluateModel } from './model.js';
export { trainModel } from './train.js';
export { writeRunManifest } from './manifest.js';
export { extractStructure, fitEstimator, mergeEstimators, evaluateEstimator, siteActivities } from './glai.js';
export { trainingSlots } from './capacity.js';
export { lookupStage } from './stages.js';
export { scanSchedule, importWatched, commitScheduleRun } from './schedule.js';
