/**
 * Run management for the client API: describe, watch, list, cancel and resume
 * runs (pipelines, retrains, merges). A resumed pipeline is a new run with
 * `resume: { runId }` in its input and `resumedFrom` in its memo, so `list`
 * shows the chain.
 */
import { defaultPayloadConverter, type Client, type WorkflowExecutionInfo, type WorkflowHandle } from '@temporalio/client';
import { nanoid } from 'nanoid';
import { ConfigError } from '../contracts/errors.js';
import { CPU_TASK_QUEUE } from '../contracts/queues.js';
import { progressQuery } from '../contracts/signals.js';
import { RUN_KINDS, type PipelineStage, type Progress, type RunInfo, type RunKind, type RunSummary } from '../contracts/runs.js';
import type { TrainPipelineInput, trainPipeline } from '../workflows/train-pipeline.js';

function summary(e: Omit<WorkflowExecutionInfo, 'raw'>): RunSummary {
  return {
    runId: e.workflowId,
    kind: RUN_KINDS[e.type as keyof typeof RUN_KINDS] ?? (e.type as RunKind),
    status: e.status.name,
    startTime: e.startTime.toISOString(),
    closeTime: e.closeTime?.toISOString() ?? null,
    resumedFrom: (e.memo?.resumedFrom as string | undefined) ?? null,
    forgets: (e.memo?.forgets as string | undefined) ?? null,
  };
}

/** The deepest cause's message of an error chain. */
export function rootCause(e: unknown): string {
  let err = e as Error;
  while (err.cause instanceof Error) err = err.cause;
  return err.message;
}

/** Describes a run; waits for nothing. */
export async function getRun(client: Client, runId: string): Promise<RunInfo> {
  const handle = client.workflow.getHandle(runId);
  const s = summary(await handle.describe());
  const info: RunInfo = { ...s, progress: null, result: null, failure: null };
  if (s.kind === 'pipeline') info.progress = await handle.query(progressQuery).catch(() => null);
  if (s.status === 'COMPLETED') info.result = await handle.result();
  else if (s.status !== 'RUNNING') info.failure = await handle.result().then(() => null, rootCause);
  return info;
}

/** How long `watchRun` rides out an unreachable Temporal frontend (a server restart) before it gives up: 10 minutes. */
export const WATCH_RECONNECT_MS = 10 * 60_000;

/** Whether `e` (or its cause) is a gRPC UNAVAILABLE or DEADLINE_EXCEEDED: the frontend is down or restarting, not a verdict on the run. */
export function isFrontendUnavailable(e: unknown): boolean {
  for (let err = e as { code?: unknown; cause?: unknown } | undefined, n = 0; err && n < 5; err = err.cause as typeof err, n++) {
    if (err.code === 14 || err.code === 4) return true;
  }
  return false;
}

/** Runs `op`, retrying while the frontend is unavailable (backoff 1 s doubling to 10 s) for at most `WATCH_RECONNECT_MS`. */
async function reconnecting<T>(op: () => Promise<T>): Promise<T> {
  const since = Date.now();
  for (let delay = 1000; ; delay = Math.min(delay * 2, 10_000)) {
    try {
      return await op();
    } catch (e) {
      if (!isFrontendUnavailable(e) || Date.now() - since > WATCH_RECONNECT_MS) throw e;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * Yields a pipeline's progress whenever it changes (polling every `intervalMs`) until the run closes; returns its final
 * description. A Temporal frontend that goes away (a restart) is waited for, up to `WATCH_RECONNECT_MS`.
 */
export async function* watchRun(client: Client, runId: string, intervalMs = 1000): AsyncGenerator<Progress, RunInfo> {
  const handle = client.workflow.getHandle(runId);
  // Resolves when the run closes (the long poll), or after a pause when the frontend dropped it, so the loop polls on.
  const closing = () =>
    handle.result().then(
      () => undefined,
      (e: unknown) => (isFrontendUnavailable(e) ? new Promise<void>((r) => setTimeout(r, intervalMs)) : undefined),
    );
  let closed = closing();
  let closedSettled = false;
  void closed.then(() => (closedSettled = true));
  let previous = '';
  for (;;) {
    const d = await reconnecting(() => handle.describe());
    const p = await handle.query(progressQuery).catch(() => null);
    if (p && JSON.stringify(p) !== previous) {
      previous = JSON.stringify(p);
      yield p;
    }
    if (d.status.name !== 'RUNNING') return reconnecting(() => getRun(client, runId));
    if (closedSettled) {
      closedSettled = false;
      closed = closing();
      void closed.then(() => (closedSettled = true));
    }
    await Promise.race([closed, new Promise((r) => setTimeout(r, intervalMs))]);
  }
}

/** Filter of `listRuns`. */
export interface RunFilter {
  kind?: RunKind;
  /** Temporal execution status, e.g. Running, Completed, Failed. */
  status?: string;
  limit?: number;
}

/** Lightpath runs, newest first. */
export async function listRuns(client: Client, filter: RunFilter = {}): Promise<RunSummary[]> {
  const types = Object.entries(RUN_KINDS)
    .filter(([, k]) => !filter.kind || k === filter.kind)
    .map(([t]) => `'${t}'`);
  if (!types.length) throw new ConfigError(`\`kind\`: ${filter.kind} is not one of ${Object.values(RUN_KINDS).join(', ')}`, []);
  let query = `WorkflowType IN (${types.join(', ')})`;
  if (filter.status) {
    if (!/^[A-Za-z_]+$/.test(filter.status)) throw new ConfigError(`\`status\`: ${filter.status} is not a status (Running, Completed, Failed, Canceled, Terminated, TimedOut)`, []);
    query += ` AND ExecutionStatus = '${filter.status}'`;
  }
  const out: RunSummary[] = [];
  for await (const e of client.workflow.list({ query })) {
    out.push(summary(e));
    if (out.length >= (filter.limit ?? 20)) break;
  }
  return out;
}

/** Requests cancellation of a run (its workflow records `cancelled` in its manifest). */
export async function cancelRun(client: Client, runId: string): Promise<void> {
  await client.workflow.getHandle(runId).cancel();
}

/**
 * Continues a pipeline run that failed, was cancelled or terminated: a new run with
 * the same input that reuses the finished stages (their keys must match) and
 * continues unfinished training from its last checkpoint; `fromStage` reruns that
 * stage and everything after it (allowed on completed runs too).
 */
export async function resumeRun(client: Client, runId: string, opts: { fromStage?: PipelineStage } = {}): Promise<{ runId: string; handle: WorkflowHandle<typeof trainPipeline> }> {
  const old = client.workflow.getHandle(runId);
  const d = await old.describe();
  if (d.type !== 'trainPipeline') throw new ConfigError(`${runId} is a ${d.type} run; only pipelines resume (start a new retrain or merge instead)`, []);
  if (d.status.name === 'RUNNING') throw new ConfigError(`${runId} is still running; cancel it first or wait`, []);
  if (d.status.name === 'COMPLETED' && !opts.fromStage) throw new ConfigError(`${runId} completed; give \`fromStage\` to rerun a stage and what follows`, []);
  const history = await old.fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const input = defaultPayloadConverter.fromPayload<TrainPipelineInput>(started!.input!.payloads![0]!);
  const newId = `${runId.replace(/-resume-[A-Za-z0-9_-]{6}$/, '')}-resume-${nanoid(6)}`;
  const handle = await client.workflow.start<typeof trainPipeline>('trainPipeline', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: newId,
    args: [{ ...input, resume: { runId, fromStage: opts.fromStage } }],
    memo: { resumedFrom: runId },
  });
  return { runId: newId, handle };
}
