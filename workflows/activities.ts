/**
 * The one place workflows get activity proxies, per worker role: each proxy is
 * typed by its role's interface (contracts/activities.ts) and bound to its task
 * queue, so calling a gpu activity on the cpu queue does not type-check. Every
 * proxy has explicit timeouts and a retry policy.
 */
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { CpuActivities, GpuActivities, SiteActivities } from '../contracts/activities.js';
import type { PipelineConfig } from '../contracts/config.js';
import { CPU_TASK_QUEUE, GPU_TASK_QUEUE, siteTaskQueue } from '../contracts/queues.js';

/** Transient faults are retried with backoff, 2 s doubling to a minute, 10 attempts. */
const RETRY = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 };

/** The light activities on `lightpath`; `options` override the 30-minute limit and the retry policy. */
export function cpuActivities(options: Pick<ActivityOptions, 'startToCloseTimeout' | 'retry'> = {}) {
  return proxyActivities<CpuActivities>({ taskQueue: CPU_TASK_QUEUE, startToCloseTimeout: '30 minutes', retry: RETRY, ...options });
}

/** GLAI fits and evaluations on `lightpath-gpu`: 2 hours each, heartbeating at least every 5 minutes. */
export function gpuActivities() {
  return proxyActivities<GpuActivities>({ taskQueue: GPU_TASK_QUEUE, startToCloseTimeout: '2 hours', heartbeatTimeout: '5 minutes', retry: RETRY });
}

/** Training and evaluation on `lightpath-gpu` with a pipeline's own limits (`execution`). */
export function trainingActivities(execution: PipelineConfig['execution']) {
  return proxyActivities<GpuActivities>({
    taskQueue: GPU_TASK_QUEUE,
    startToCloseTimeout: `${execution.trainTimeoutMinutes} minutes`,
    heartbeatTimeout: `${execution.heartbeatTimeoutSeconds} seconds`,
    retry: { ...RETRY, maximumAttempts: execution.maxTrainAttempts },
  });
}

/** A federated site's activities on `lightpath-site-<site>`: `timeoutSeconds` in all (waiting for its worker included), retried while it heartbeats. */
export function siteActivities(site: string, timeoutSeconds: number, heartbeatSeconds: number) {
  return proxyActivities<SiteActivities>({
    taskQueue: siteTaskQueue(site),
    scheduleToCloseTimeout: `${timeoutSeconds} seconds`,
    heartbeatTimeout: `${heartbeatSeconds} seconds`,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  });
}
