/**
 * Retraining schedules for the client API (`lp.schedules`): Temporal Schedules
 * whose action starts `scheduledRetrain` (workflows/scheduled-retrain.ts) on the
 * `lightpath` queue. `create` resolves the run to start from into its structure,
 * estimator and test split, which the schedule's workflow arguments fix;
 * `describe` joins Temporal's description with the schedule's state document in
 * the store. Bad input (unknown schedule, bad timing, bad watch location) throws
 * ConfigError.
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ServiceError, type Client, type ScheduleDescription, type ScheduleHandle } from '@temporalio/client';
import { ConfigError } from '../contracts/errors.js';
import { CPU_TASK_QUEUE } from '../contracts/queues.js';
import { SCHEDULE_ID, scheduleStateKey, type CurrentEstimator, type ScheduleRun, type ScheduleState } from '../contracts/schedule-state.js';
import type { ScheduledRetrainInput, scheduledRetrain } from '../workflows/scheduled-retrain.js';
import type { GlaiOutcome } from '../contracts/types.js';
import type { Contribution, ScheduleWindow } from '../contracts/forget.js';
import { openStore } from '../storage/open.js';
import { checkWatch, watchLocation } from '../storage/watch.js';
import { checkedStore } from './store.js';
import { BadWatchLocationError } from '../contracts/errors.js';

/** The workflow type of a lightpath schedule's action. */
const WORKFLOW_TYPE = 'scheduledRetrain';

/** Overlap policies a schedule (or one trigger or backfill) may use, by their CLI names. */
export const OVERLAP_POLICIES = { skip: 'SKIP', 'buffer-one': 'BUFFER_ONE', 'allow-all': 'ALLOW_ALL' } as const;
export type OverlapPolicy = keyof typeof OVERLAP_POLICIES;

/** Settings of a new schedule; give exactly one of `every` and `cron`. */
export interface CreateScheduleOptions {
  scheduleId: string;
  /** Pipeline run with GLAI, retrain or merge whose structure, estimator and test split the schedule starts from. */
  from: string;
  /** Folder (as the cpu workers see it) or `s3://bucket/prefix`. */
  watch: string;
  /** Interval, e.g. `1d`, `12h`, `1h30m` (units s, m, h, d, w). */
  every?: string;
  /** Cron expression (5 fields, or @daily, @hourly…), in `timezone` (default UTC). */
  cron?: string;
  timezone?: string;
  /** Largest test-accuracy drop that still promotes an update (default 0.005). */
  promoteThreshold?: number;
  /** How late a missed run may still start (default 1d; at least 10s). */
  catchupWindow?: string;
  /** What a run due while another runs does (default skip). */
  overlap?: OverlapPolicy;
  /** Pause the schedule when a run fails (default true; Temporal does not track runs started under allow-all). */
  pauseOnFailure?: boolean;
  paused?: boolean;
  /** Artifact store for the schedule's state and estimators (default: the configured one). */
  store?: string;
  /** Sliding window by age, e.g. `30d`: each update also subtracts the contributions that arrived longer ago. */
  window?: string;
  /** Sliding window by count: each update keeps only the last this many arrivals (contributions). */
  windowArrivals?: number;
}

/** When a schedule runs, as given at creation (kept in its memo). */
export interface ScheduleTiming {
  every: string | null;
  cron: string | null;
  timezone: string | null;
}

/** What the schedule memo holds. */
interface ScheduleMemo extends ScheduleTiming {
  from: string;
  watch: string;
}

/** One schedule as `list` shows it. */
export interface ScheduleListEntry extends ScheduleTiming {
  scheduleId: string;
  paused: boolean;
  note: string | null;
  from: string;
  watch: string;
  nextRun: string | null;
  lastRun: { workflowId: string; scheduledAt: string } | null;
}

/** An action the schedule took: the `scheduledRetrain` run it started. */
export interface ScheduleAction {
  workflowId: string;
  scheduledAt: string;
  takenAt: string;
}

/** The lightpath side of a schedule: its state document, summarized. */
export interface ScheduleStateSummary {
  uri: string;
  generation: number;
  updatedAt: string;
  current: CurrentEstimator;
  /** Objects consumed, copies included. */
  consumed: number;
  /** Samples the consumed objects added. */
  samples: number;
  /** The last 10 runs, newest first. */
  recentRuns: ScheduleRun[];
  /** Sliding-window schedules: the contributions in the current estimator's window. */
  window?: Contribution[];
}

/** A schedule in detail: Temporal's description and the schedule's state (null before its first run). */
export interface ScheduleView extends ScheduleTiming {
  scheduleId: string;
  paused: boolean;
  note: string | null;
  overlap: string;
  catchupWindow: string;
  pauseOnFailure: boolean;
  settings: ScheduledRetrainInput;
  temporal: {
    createdAt: string;
    updatedAt: string | null;
    actionsTaken: number;
    skippedOverlap: number;
    missedCatchupWindow: number;
    running: string[];
    recentActions: ScheduleAction[];
    nextRuns: string[];
  };
  state: ScheduleStateSummary | null;
}

/** The schedules part of the client API. */
export interface ScheduleApi {
  /** Validates everything (ConfigError; nothing is created) and creates the schedule; returns its description. */
  create(o: CreateScheduleOptions): Promise<ScheduleView>;
  /** lightpath's schedules (Temporal's list is eventually consistent: a new schedule may take a moment to appear). */
  list(): Promise<ScheduleListEntry[]>;
  describe(scheduleId: string): Promise<ScheduleView>;
  pause(scheduleId: string, note?: string): Promise<void>;
  unpause(scheduleId: string, note?: string): Promise<void>;
  /**
   * Starts a run now and returns its workflow id (null when `skip` skipped it) and, with `wait`, its outcome.
   * Overlap default allow-all: it starts even while another run goes (their rounds take turns); Temporal does not
   * track allow-all runs, so their failures do not pause the schedule (under `skip` they do).
   */
  trigger(scheduleId: string, o?: { overlap?: 'skip' | 'allow-all'; wait?: boolean }): Promise<{ workflowId: string | null; run: ScheduleRun | null }>;
  /** Takes the runs that were due between `start` and `end` now (overlap default: the schedule's). */
  backfill(scheduleId: string, o: { start: Date; end: Date; overlap?: OverlapPolicy }): Promise<void>;
  /** Deletes the schedule; running runs finish, and its state stays in the store (a schedule created with the same id continues it). */
  delete(scheduleId: string): Promise<void>;
}

const UNITS: Record<string, number> = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/** Milliseconds of a duration like `1d`, `12h`, `1h30m` (units w, d, h, m, s). */
function parseDuration(v: string, field: string): number {
  const ms = /^(\d+[wdhms])+$/.test(v) ? [...v.matchAll(/(\d+)([wdhms])/g)].reduce((t, m) => t + Number(m[1]) * UNITS[m[2]!]!, 0) : 0;
  if (ms <= 0) throw new ConfigError(`${field}: ${JSON.stringify(v)} is not a duration like 1d, 12h or 1h30m (units w, d, h, m, s)`, []);
  return ms;
}

/** A duration in the largest units, e.g. `1h30m`. */
function formatDuration(ms: number): string {
  let rest = Math.round(ms / 1000) * 1000;
  const out = Object.entries(UNITS).flatMap(([u, n]) => {
    const k = Math.floor(rest / n);
    rest -= k * n;
    return k ? [`${k}${u}`] : [];
  });
  return out.join('') || '0s';
}

const CRON_MACRO = /^@(yearly|annually|monthly|weekly|daily|hourly)$/;

/** The sliding window of `o` (null: none); ConfigError naming the field when malformed. */
function checkWindow(o: CreateScheduleOptions): ScheduleWindow | null {
  if (o.window === undefined && o.windowArrivals === undefined) return null;
  if (o.windowArrivals !== undefined && !(Number.isInteger(o.windowArrivals) && o.windowArrivals >= 1)) {
    throw new ConfigError(`\`windowArrivals\`: ${o.windowArrivals} must be a positive integer (arrivals kept)`, []);
  }
  return { ...(o.window !== undefined ? { milliseconds: parseDuration(o.window, '`window`') } : {}), ...(o.windowArrivals !== undefined ? { arrivals: o.windowArrivals } : {}) };
}

function checkTiming(o: CreateScheduleOptions): { every: number | null; catchup: number } {
  if (!o.every === !o.cron) throw new ConfigError('give exactly one of `every` and `cron`', []);
  if (o.cron && !CRON_MACRO.test(o.cron) && !/^([0-9A-Za-z*?,/-]+\s+){4}[0-9A-Za-z*?,/-]+$/.test(o.cron.trim())) {
    throw new ConfigError(`\`cron\`: ${JSON.stringify(o.cron)} is not a cron expression (5 fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * *", or @daily, @hourly…)`, []);
  }
  if (o.timezone) {
    if (!o.cron) throw new ConfigError('`timezone` applies to `cron` only', []);
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: o.timezone });
    } catch {
      throw new ConfigError(`\`timezone\`: ${o.timezone} is not an IANA time zone (e.g. Europe/Madrid)`, []);
    }
  }
  const every = o.every ? parseDuration(o.every, '`every`') : null;
  if (every !== null && every < 1000) throw new ConfigError('`every`: at least 1s', []);
  const catchup = parseDuration(o.catchupWindow ?? '1d', '`catchupWindow`');
  if (catchup < 10_000) throw new ConfigError("`catchupWindow`: at least 10s (Temporal's minimum)", []);
  return { every, catchup };
}

/** Checks a watch location and returns its canonical form; a bad one is a ConfigError. */
async function checkedWatch(watch: string): Promise<string> {
  try {
    const canonical = watchLocation(watch);
    await checkWatch(canonical);
    return canonical;
  } catch (e) {
    if (e instanceof BadWatchLocationError) throw new ConfigError(e.message, []);
    throw e;
  }
}

/** A schedule's state document, or null before its first run. */
async function readState(store: string, scheduleId: string): Promise<{ state: ScheduleState; uri: string } | null> {
  const s = openStore(store);
  const bytes = await s.getNamed(scheduleStateKey(scheduleId));
  return bytes ? { state: JSON.parse(new TextDecoder().decode(bytes)) as ScheduleState, uri: `${s.root}${scheduleStateKey(scheduleId)}` } : null;
}

const iso = (d: Date | undefined) => d?.toISOString() ?? null;
const overlapName = (p: string | undefined) => Object.entries(OVERLAP_POLICIES).find(([, v]) => v === p)?.[0] ?? p?.toLowerCase().replaceAll('_', '-') ?? 'skip';
const memoOf = (m: Record<string, unknown> | undefined) => (m?.lightpath ?? {}) as Partial<ScheduleMemo>;
const timingOf = (m: Partial<ScheduleMemo>): ScheduleTiming => ({ every: m.every ?? null, cron: m.cron ?? null, timezone: m.timezone ?? null });

async function view(d: ScheduleDescription, running: string[]): Promise<ScheduleView> {
  const settings = d.action.args![0] as ScheduledRetrainInput;
  const found = await readState(settings.store, d.scheduleId);
  const action = (a: ScheduleDescription['info']['recentActions'][number]): ScheduleAction => ({
    workflowId: a.action.workflow.workflowId,
    scheduledAt: a.scheduledAt.toISOString(),
    takenAt: a.takenAt.toISOString(),
  });
  return {
    scheduleId: d.scheduleId,
    paused: d.state.paused,
    note: d.state.note ?? null,
    ...timingOf(memoOf(d.memo)),
    overlap: overlapName(d.policies.overlap),
    catchupWindow: formatDuration(d.policies.catchupWindow),
    pauseOnFailure: d.policies.pauseOnFailure,
    settings,
    temporal: {
      createdAt: d.info.createdAt.toISOString(),
      updatedAt: iso(d.info.lastUpdatedAt),
      actionsTaken: d.info.numActionsTaken,
      skippedOverlap: d.info.numActionsSkippedOverlap,
      missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
      running,
      recentActions: d.info.recentActions.map(action),
      nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
    },
    state: found && {
      uri: found.uri,
      generation: found.state.generation,
      updatedAt: found.state.updatedAt,
      current: found.state.current,
      consumed: found.state.consumed.length,
      samples: found.state.consumed.reduce((n, c) => n + c.samples, 0),
      recentRuns: found.state.runs.slice(-10).reverse(),
      ...(found.state.window ? { window: found.state.window } : {}),
    },
  };
}

/** The schedules API on `client`; `glaiOutcome` resolves `from` runs (LightpathClient.glaiOutcome). */
export function scheduleApi(client: Client, glaiOutcome: (workflowId: string) => Promise<GlaiOutcome>): ScheduleApi {
  /** A lightpath schedule's handle and description; unknown ids and other schedules are ConfigErrors. */
  async function schedule(scheduleId: string): Promise<{ handle: ScheduleHandle; d: ScheduleDescription }> {
    if (!SCHEDULE_ID.test(scheduleId)) throw new ConfigError(`${JSON.stringify(scheduleId)} is not a schedule id (letters, digits, ., - and _)`, []);
    const handle = client.schedule.getHandle(scheduleId);
    try {
      const d = await handle.describe();
      if (d.action.workflowType !== WORKFLOW_TYPE) throw new ConfigError(`schedule ${scheduleId} is not a lightpath schedule (it starts ${d.action.workflowType})`, []);
      return { handle, d };
    } catch (e) {
      if (e instanceof ScheduleNotFoundError) throw new ConfigError(`no schedule ${scheduleId}; \`lightpath schedule list\` shows the schedules`, []);
      throw e;
    }
  }

  /** Its description with every running run: Temporal tracks only those not started under allow-all, so visibility adds the rest. */
  async function described(scheduleId: string): Promise<ScheduleView> {
    const { d } = await schedule(scheduleId);
    const running = new Set(d.info.runningActions.map((a) => a.workflow.workflowId));
    const query = `WorkflowType = '${WORKFLOW_TYPE}' AND TemporalScheduledById = '${scheduleId}' AND ExecutionStatus = 'Running'`;
    for await (const w of client.workflow.list({ query })) running.add(w.workflowId);
    return view(d, [...running].sort());
  }

  return {
    async create(o) {
      if (!SCHEDULE_ID.test(o.scheduleId)) throw new ConfigError(`schedule id ${JSON.stringify(o.scheduleId)}: use letters, digits, ., - and _ (at most 100, starting with a letter or digit)`, []);
      const { every, catchup } = checkTiming(o);
      const window = checkWindow(o);
      const threshold = o.promoteThreshold ?? 0.005;
      if (!(threshold >= 0 && threshold < 1)) throw new ConfigError(`\`promoteThreshold\`: ${threshold} must be in [0, 1) (a drop in test accuracy, e.g. 0.005)`, []);
      const overlap = o.overlap ?? 'skip';
      if (!(overlap in OVERLAP_POLICIES)) throw new ConfigError(`\`overlap\`: ${overlap} is not one of ${Object.keys(OVERLAP_POLICIES).join(', ')}`, []);
      const watch = await checkedWatch(o.watch);
      const from = await glaiOutcome(o.from);
      if (!from.test) throw new ConfigError(`${o.from}: has no test split; a schedule needs one to decide promotion (start from a pipeline run, or a retrain/merge of one)`, []);
      const store = checkedStore(o.store, 'store');
      const existing = await readState(store, o.scheduleId);
      if (existing && existing.state.structureId !== from.structure.id) {
        throw new ConfigError(
          `schedule ${o.scheduleId}: ${existing.uri} holds the state of a schedule on structure ${existing.state.structureId.slice(0, 12)}…, ${o.from}'s is ${from.structure.id.slice(0, 12)}…; choose another schedule id`,
          [],
        );
      }
      const input: ScheduledRetrainInput = {
        scheduleId: o.scheduleId,
        store,
        watch,
        from: o.from,
        structure: from.structure,
        start: from.estimator,
        startAccuracy: from.estimatorAccuracy,
        test: from.test,
        threshold,
        ...(window ? { window } : {}),
      };
      const memo: ScheduleMemo = { every: o.every ?? null, cron: o.cron ?? null, timezone: o.timezone ?? null, from: o.from, watch };
      try {
        await client.schedule.create<typeof scheduledRetrain>({
          scheduleId: o.scheduleId,
          spec: every !== null ? { intervals: [{ every }] } : { cronExpressions: [o.cron!.trim()], timezone: o.timezone },
          action: { type: 'startWorkflow', workflowType: WORKFLOW_TYPE, taskQueue: CPU_TASK_QUEUE, workflowId: `lightpath-scheduled-retrain-${o.scheduleId}`, args: [input] },
          policies: { overlap: OVERLAP_POLICIES[overlap], catchupWindow: catchup, pauseOnFailure: o.pauseOnFailure ?? true },
          state: { paused: o.paused ?? false, note: o.paused ? 'created paused' : undefined },
          memo: { lightpath: memo },
        });
      } catch (e) {
        if (e instanceof ScheduleAlreadyRunning) throw new ConfigError(`schedule ${o.scheduleId} already exists (\`lightpath schedule delete ${o.scheduleId}\` first)`, []);
        if (e instanceof TypeError) throw new ConfigError(`\`${o.cron ? 'cron' : 'every'}\`: ${e.message}`, []);
        if (e instanceof ServiceError && (e.cause as { code?: number } | undefined)?.code === 3)
          throw new ConfigError(`schedule ${o.scheduleId}: ${(e.cause as Error).message.replace(/^3 INVALID_ARGUMENT: /, '')}`, []);
        throw e;
      }
      return described(o.scheduleId);
    },
    async list() {
      const out: ScheduleListEntry[] = [];
      for await (const s of client.schedule.list()) {
        if (s.action?.workflowType !== WORKFLOW_TYPE) continue;
        const memo = memoOf(s.memo);
        const last = s.info.recentActions.at(-1);
        out.push({
          scheduleId: s.scheduleId,
          paused: s.state.paused,
          note: s.state.note ?? null,
          ...timingOf(memo),
          from: memo.from ?? '',
          watch: memo.watch ?? '',
          nextRun: iso(s.info.nextActionTimes[0]),
          lastRun: last ? { workflowId: last.action.workflow.workflowId, scheduledAt: last.scheduledAt.toISOString() } : null,
        });
      }
      return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
    },
    describe: described,
    async pause(scheduleId, note) {
      await (await schedule(scheduleId)).handle.pause(note ?? 'paused with lightpath schedule pause');
    },
    async unpause(scheduleId, note) {
      await (await schedule(scheduleId)).handle.unpause(note ?? 'unpaused with lightpath schedule unpause');
    },
    async trigger(scheduleId, o = {}) {
      const { handle, d: before } = await schedule(scheduleId);
      const known = new Set(before.info.recentActions.map((a) => a.action.workflow.firstExecutionRunId));
      await handle.trigger(OVERLAP_POLICIES[o.overlap ?? 'allow-all']);
      for (const deadline = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 200))) {
        const d = await handle.describe();
        const started = d.info.recentActions.find((a) => !known.has(a.action.workflow.firstExecutionRunId));
        if (started) {
          const { workflowId, firstExecutionRunId } = started.action.workflow;
          return { workflowId, run: o.wait ? await client.workflow.getHandle<typeof scheduledRetrain>(workflowId, firstExecutionRunId).result() : null };
        }
        if (d.info.numActionsSkippedOverlap > before.info.numActionsSkippedOverlap) return { workflowId: null, run: null };
        if (Date.now() > deadline) throw new Error(`schedule ${scheduleId}: the trigger started no run within 60 s`);
      }
    },
    async backfill(scheduleId, o) {
      if (Number.isNaN(o.start.getTime()) || Number.isNaN(o.end.getTime())) throw new ConfigError('backfill: `start` and `end` must be times (ISO 8601, e.g. 2025-01-01T00:00:00Z)', []);
      if (!(o.start < o.end)) throw new ConfigError(`backfill: \`start\` ${o.start.toISOString()} must be before \`end\` ${o.end.toISOString()}`, []);
      const { handle, d } = await schedule(scheduleId);
      await handle.backfill({ start: o.start, end: o.end, overlap: o.overlap ? OVERLAP_POLICIES[o.overlap] : d.policies.overlap });
    },
    async delete(scheduleId) {
      await (await schedule(scheduleId)).handle.delete();
    },
  };
}
