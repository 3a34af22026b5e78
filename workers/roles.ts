/**
 * Which activities run on which task queue: the one definition lightpath's own
 * workers (create.ts) and its Temporal plugin (plugin.ts) share. A `cpu` worker
 * polls `lightpath`, hosts the workflows and runs every light activity; a `gpu`
 * worker polls `lightpath-gpu` and runs training and inference, `slots` at a time,
 * and advertises that count in its identity (activities/capacity.ts sums it).
 */
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { WorkerOptions } from '@temporalio/worker';
import { badInputIsFinal, cpuActivities, gpuActivities } from '../activities/index.js';
import { CPU_TASK_QUEUE, GPU_TASK_QUEUE } from '../contracts/queues.js';

export type WorkerRole = 'cpu' | 'gpu';

/** The task queue each role polls (the workflows schedule each activity on its role's queue). */
export const ROLE_TASK_QUEUES: Record<WorkerRole, string> = { cpu: CPU_TASK_QUEUE, gpu: GPU_TASK_QUEUE };

/** The workflows module that cpu workers host. */
export const workflowsPath = fileURLToPath(new URL(`../workflows/index${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

const ROLE_ACTIVITIES = { cpu: cpuActivities, gpu: gpuActivities };

/** The activity interceptors every lightpath worker installs (bad input fails at once, the rest is retried). */
export const ACTIVITY_INTERCEPTORS = [badInputIsFinal];

/** A gpu worker's identity: `base` (Temporal's default `pid@host`) plus the slot count `trainingSlots` sums. */
export function gpuIdentity(slots: number, base = `${process.pid}@${hostname()}`): string {
  return `${base} gpu slots=${slots}`;
}

/** The worker options that make a worker one of `role`: its task queue and activities; on gpu, `slots` concurrent activities, advertised in the identity. */
export function roleWorkerOptions(
  role: WorkerRole,
  slots = 1,
  identity?: string,
): Pick<WorkerOptions, 'taskQueue' | 'activities' | 'identity' | 'maxConcurrentActivityTaskExecutions' | 'interceptors'> {
  const own = { taskQueue: ROLE_TASK_QUEUES[role], activities: ROLE_ACTIVITIES[role], interceptors: { activity: ACTIVITY_INTERCEPTORS } };
  return role === 'gpu' ? { ...own, identity: gpuIdentity(slots, identity), maxConcurrentActivityTaskExecutions: slots } : own;
}
