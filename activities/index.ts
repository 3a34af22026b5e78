/**
 * lightpath's activities by worker role, each checked against its role's
 * interface in contracts/activities.ts (what the workflows may call on that task
 * queue), and the interceptor every worker that runs them installs.
 */
import type { CpuActivities, GpuActivities, SiteActivities } from '../contracts/activities.js';
import { prepareData, importShard, sourceContent } from './data.js';
import { initializeModel, evaluateModel } from './model.js';
import { trainModel } from './train.js';
import { writeRunManifest } from './manifest.js';
import { extractStructure, fitEstimator, mergeEstimators, evaluateEstimator } from './glai.js';
import { trainingSlots } from './capacity.js';
import { lookupStage } from './stages.js';
import { scanSchedule, importWatched, commitScheduleRun } from './schedule.js';
import { forgetStatistics, purgeContributions } from './forget.js';

import { finalBadInput } from './failures.js';

export { siteActivities } from './glai.js';

/** The light activities of `lightpath` (cpu) workers. */
export const cpuActivities = {
  prepareData,
  sourceContent,
  importShard,
  initializeModel,
  writeRunManifest,
  extractStructure,
  mergeEstimators,
  trainingSlots,
  lookupStage,
  scanSchedule,
  importWatched,
  commitScheduleRun,
  forgetStatistics,
  purgeContributions,
} satisfies CpuActivities;

/** Training and inference, on `lightpath-gpu` workers. */
export const gpuActivities = { trainModel, evaluateModel, fitEstimator, evaluateEstimator } satisfies GpuActivities;

/** The activity interceptor of every lightpath worker: a lightpath activity's bad-input error fails at once, anything else is retried. */
export const badInputIsFinal = finalBadInput(new Set([...Object.keys(cpuActivities), ...Object.keys(gpuActivities), 'fitSiteEstimator' satisfies keyof SiteActivities]));
