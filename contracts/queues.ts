/** Task queues: training and inference on GPU workers, everything else on CPU workers. */
export const CPU_TASK_QUEUE = 'lightpath';
export const GPU_TASK_QUEUE = 'lightpath-gpu';

/** Task queue of a federated site's worker. */
export function siteTaskQueue(site: string): string {
  return `lightpath-site-${site}`;
}

/** Site names: letters, digits, `-` and `_` (they become task-queue names). */
export const SITE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
