/**
 * How many training activities the cluster can run at once, for workflows that fan
 * out (the weight-decay search's default concurrency). GPU workers advertise their
 * slot count in their Temporal identity (`… slots=N`, see workers/create.ts); this
 * sums it over the workers currently polling `lightpath-gpu`.
 */
import { getClient } from '@temporalio/activity';
import proto from '@temporalio/proto';
import { GPU_TASK_QUEUE } from '../contracts/queues.js';

/** Matches the slot count a GPU worker puts in its identity. */
const SLOTS = /\bslots=(\d+)\b/;

/** Training slots of the workers polling the GPU queue (at least 1, so a search can start before its worker). */
export async function trainingSlots(): Promise<{ slots: number; workers: number }> {
  const client = getClient();
  const res = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: GPU_TASK_QUEUE, kind: proto.temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  const identities = new Set((res.pollers ?? []).map((p) => p.identity ?? ''));
  const slots = [...identities].reduce((sum, id) => sum + Number(SLOTS.exec(id)?.[1] ?? 1), 0);
  return { slots: Math.max(1, slots), workers: identities.size };
}
