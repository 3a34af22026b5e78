/**
 * Orchestration timing read from workflow histories (what the load test reports):
 * per activity its queue, attempt, worker and the times it was scheduled, started
 * and closed; per workflow its start, close and the sum of its activities' run times.
 *
 * Temporal writes an activity's ActivityTaskStarted event only when the activity
 * closes, stamped with the start time of the *last* attempt: for attempt > 1 the
 * scheduled → started span holds the earlier attempts and their backoff, so such
 * activities are kept apart (`attempt`) rather than mixed into the latencies.
 */
import type proto from '@temporalio/proto';

type History = proto.temporal.api.history.v1.IHistory;
type Timestamp = proto.google.protobuf.ITimestamp | null | undefined;

/** Milliseconds since the epoch of a protobuf timestamp. */
export function timestampMs(t: Timestamp): number {
  if (!t) throw new Error('history event without a time');
  const s = t.seconds ?? 0;
  return (typeof s === 'number' ? s : s.toNumber()) * 1000 + (t.nanos ?? 0) / 1e6;
}

/** One activity of a workflow, as its history records it. */
export interface ActivityTiming {
  workflowId: string;
  type: string;
  queue: string;
  /** Attempt of the start recorded (the last one); 0 when it never started. */
  attempt: number;
  /** Identity of the worker that ran the recorded attempt. */
  worker: string;
  scheduledMs: number;
  startedMs: number | null;
  closedMs: number | null;
  /** `completed`, `failed`, `timedOut`, `canceled`, or `open` when the history has no close event. */
  outcome: string;
  /** The message of the failure that caused the recorded attempt's retry, if any. */
  lastFailure: string | null;
}

/** A workflow's span and activities. */
export interface WorkflowTiming {
  workflowId: string;
  startMs: number;
  closeMs: number;
  /** Event type of the close (`WorkflowExecutionCompleted`, …). */
  close: string;
  activities: ActivityTiming[];
  /** Its workflow tasks: scheduled, started (by a cpu worker) and completed (commands returned); null where not (yet) recorded. */
  workflowTasks: { scheduledMs: number; startedMs: number | null; completedMs: number | null }[];
}

const CLOSES = [
  'workflowExecutionCompletedEventAttributes',
  'workflowExecutionFailedEventAttributes',
  'workflowExecutionTimedOutEventAttributes',
  'workflowExecutionTerminatedEventAttributes',
  'workflowExecutionCanceledEventAttributes',
  'workflowExecutionContinuedAsNewEventAttributes',
] as const;

/** Reads the timing of one workflow execution from its history. */
export function workflowTiming(workflowId: string, history: History): WorkflowTiming {
  const events = history.events ?? [];
  const bySchedule = new Map<number, ActivityTiming>();
  const tasks = new Map<number, WorkflowTiming['workflowTasks'][number]>();
  let startMs = NaN;
  let closeMs = NaN;
  let close = 'open';
  const id = (n: unknown) => Number(n);
  for (const e of events) {
    const at = timestampMs(e.eventTime);
    if (e.workflowExecutionStartedEventAttributes) startMs = at;
    const closed = CLOSES.find((k) => e[k]);
    if (closed) {
      closeMs = at;
      close = closed.replace(/EventAttributes$/, '').replace(/^./, (c) => c.toUpperCase());
    }
    if (e.workflowTaskScheduledEventAttributes) tasks.set(id(e.eventId), { scheduledMs: at, startedMs: null, completedMs: null });
    const wts = e.workflowTaskStartedEventAttributes;
    if (wts && tasks.has(id(wts.scheduledEventId))) tasks.get(id(wts.scheduledEventId))!.startedMs = at;
    const wtc = e.workflowTaskCompletedEventAttributes;
    if (wtc && tasks.has(id(wtc.scheduledEventId))) tasks.get(id(wtc.scheduledEventId))!.completedMs = at;
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      bySchedule.set(id(e.eventId), {
        workflowId,
        type: s.activityType?.name ?? '?',
        queue: s.taskQueue?.name ?? '?',
        attempt: 0,
        worker: '',
        scheduledMs: at,
        startedMs: null,
        closedMs: null,
        outcome: 'open',
        lastFailure: null,
      });
    }
    const st = e.activityTaskStartedEventAttributes;
    if (st) {
      const a = bySchedule.get(id(st.scheduledEventId))!;
      a.startedMs = at;
      a.attempt = st.attempt ?? 0;
      a.worker = st.identity ?? '';
      a.lastFailure = st.lastFailure?.message ?? null;
    }
    const ends = [
      ['completed', e.activityTaskCompletedEventAttributes],
      ['failed', e.activityTaskFailedEventAttributes],
      ['timedOut', e.activityTaskTimedOutEventAttributes],
      ['canceled', e.activityTaskCanceledEventAttributes],
    ] as const;
    for (const [outcome, attrs] of ends) {
      if (!attrs) continue;
      const a = bySchedule.get(id(attrs.scheduledEventId))!;
      a.closedMs = at;
      a.outcome = outcome;
    }
  }
  return { workflowId, startMs, closeMs, close, activities: [...bySchedule.values()], workflowTasks: [...tasks.values()] };
}

/** Scheduled → started latency of an activity's recorded attempt (ms). */
export const startLatency = (a: ActivityTiming): number => a.startedMs! - a.scheduledMs;

/** Run time of an activity's recorded attempt, started → closed (ms). */
export const runTime = (a: ActivityTiming): number => a.closedMs! - a.startedMs!;

/** A workflow's wall time (start → close) minus the run time of its activities (ms): what orchestration and queueing cost it. */
export function overhead(w: WorkflowTiming): number {
  return w.closeMs - w.startMs - w.activities.reduce((s, a) => s + (a.startedMs !== null && a.closedMs !== null ? runTime(a) : 0), 0);
}

/**
 * Per worker, the idle gaps between one activity closing and the worker's next
 * activity starting, counted only when that next activity was already scheduled
 * (a backlog was waiting): the dispatch cost of a saturated worker, queueing excluded.
 */
export function dispatchGaps(activities: ActivityTiming[]): number[] {
  const byWorker = new Map<string, ActivityTiming[]>();
  for (const a of activities) if (a.startedMs !== null && a.closedMs !== null) byWorker.set(a.worker, [...(byWorker.get(a.worker) ?? []), a]);
  const gaps: number[] = [];
  for (const list of byWorker.values()) {
    list.sort((x, y) => x.startedMs! - y.startedMs!);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1]!;
      const next = list[i]!;
      if (next.scheduledMs <= prev.closedMs! && next.startedMs! >= prev.closedMs!) gaps.push(next.startedMs! - prev.closedMs!);
    }
  }
  return gaps;
}

/** The q-quantile (0…1) of `xs`, nearest rank; NaN for none. */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** One table row: `label`, count, median, p95 and max of `xs` (ms). */
export function row(label: string, xs: number[]): string {
  const ms = (v: number) => (Number.isNaN(v) ? '-' : v < 10_000 ? `${v.toFixed(0)} ms` : `${(v / 1000).toFixed(1)} s`);
  return `${label.padEnd(58)} ${String(xs.length).padStart(5)} ${ms(quantile(xs, 0.5)).padStart(10)} ${ms(quantile(xs, 0.95)).padStart(10)} ${ms(xs.length ? Math.max(...xs) : NaN).padStart(10)}`;
}

/** The header of `row`'s table. */
export const HEADER = `${'measure'.padEnd(58)} ${'n'.padStart(5)} ${'median'.padStart(10)} ${'p95'.padStart(10)} ${'max'.padStart(10)}`;
