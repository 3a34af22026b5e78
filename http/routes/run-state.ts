/** What the routes share about runs: their URL, and refusing operations a run's state forbids. */
import type { LightpathClient } from '../../client/connect.js';
import { ApiError } from '../errors.js';

/** Where a run is described (the Location of a started run). */
export function runUrl(runId: string): string {
  return `/v1/runs/${encodeURIComponent(runId)}`;
}

/** Throws 409 unless run `runId` has Temporal status `wanted` (404 if there is no such run); `what` says what it would be. */
export async function requireStatus(lp: LightpathClient, runId: string, wanted: 'RUNNING' | 'COMPLETED', what: string): Promise<void> {
  const { status } = await lp.client.workflow.getHandle(runId).describe();
  if (status.name !== wanted) throw new ApiError(409, 'conflict', `${runId} is ${status.name}; only a ${wanted} run can be ${what}`);
}
