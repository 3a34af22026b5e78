/** `lightpath schedule create|list|describe|pause|unpause|trigger|backfill|delete`: scheduled GLAI retraining. */
import { InvalidArgumentError, type Command } from 'commander';
import { OVERLAP_POLICIES, type OverlapPolicy, type ScheduleListEntry, type ScheduleView } from '../../client/schedules.js';
import type { ScheduleRun } from '../../contracts/schedule-state.js';
import type { ScheduleWindow } from '../../contracts/forget.js';
import { EXIT, positiveInt, withClient } from '../shared.js';

const print = (s: string) => process.stdout.write(`${s}\n`);
const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
const timing = (s: { every: string | null; cron: string | null; timezone: string | null }) => (s.every ? `every ${s.every}` : `cron "${s.cron}"${s.timezone ? ` (${s.timezone})` : ' (UTC)'}`);

function overlap(v: string): OverlapPolicy {
  if (!(v in OVERLAP_POLICIES)) throw new InvalidArgumentError(`expected one of ${Object.keys(OVERLAP_POLICIES).join(', ')}`);
  return v as OverlapPolicy;
}

function time(v: string): Date {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('expected a time, e.g. 2025-01-01T00:00:00Z');
  return d;
}

/** One run of a schedule's log, in one line. */
function runLine(r: ScheduleRun): string {
  const head = `${r.at.replace('T', ' ').slice(0, 19)}  ${r.outcome.padEnd(11)}  ${r.run}`;
  const copies = r.objects.length ? `${r.objects.length} object(s): ${r.objects.join(', ')}` : '';
  if (!r.candidate) return `${head}${copies ? `  (copies of consumed data: ${copies})` : ''}`;
  const expired = r.expired?.length ? `, −${r.expired.reduce((n, c) => n + c.count, 0)} samples that left the window` : '';
  return `${head}  +${r.added} samples from ${copies}${expired}; test accuracy ${pct(r.previous.accuracy)} → ${pct(r.candidate.accuracy)} (threshold ${pct(r.threshold)})`;
}

/** A window's age in its largest whole unit (d, h, m or s). */
function age(ms: number): string {
  const [unit, n] = (
    [
      ['d', 86_400_000],
      ['h', 3_600_000],
      ['m', 60_000],
    ] as const
  ).find(([, n]) => ms % n === 0) ?? ['s', 1000];
  return `${ms / n}${unit}`;
}

/** A sliding window in words. */
function windowText(w: ScheduleWindow): string {
  const parts = [w.arrivals !== undefined ? `the last ${w.arrivals} arrival(s)` : '', w.milliseconds !== undefined ? `arrivals younger than ${age(w.milliseconds)}` : ''];
  return parts.filter(Boolean).join(' and ');
}

/** A schedule's description in lines. */
function viewLines(v: ScheduleView): string[] {
  const s = v.settings;
  const out = [
    `${v.scheduleId}: ${v.paused ? `paused${v.note ? ` (${v.note})` : ''}` : 'active'}, ${timing(v)}, overlap ${v.overlap}, catch-up window ${v.catchupWindow}${v.pauseOnFailure ? ', pauses on failure' : ''}`,
    `  from ${s.from}; watching ${s.watch}; store ${s.store}`,
    `  promotes an update unless its test accuracy drops by more than ${pct(s.threshold)}`,
  ];
  if (s.window) out.push(`  sliding window: ${windowText(s.window)}; ${v.state?.window ? `${v.state.window.length} contribution(s) in it` : 'no windowed update yet'}`);
  const current = v.state?.current ?? { estimator: s.start, accuracy: s.startAccuracy, since: s.from };
  out.push(`  current estimator ${current.estimator.ref.uri} (${current.estimator.count} samples), test accuracy ${current.accuracy === null ? 'n/a' : pct(current.accuracy)}, since ${current.since}`);
  out.push(v.state ? `  consumed ${v.state.consumed} object(s), ${v.state.samples} samples, in ${v.state.generation} run(s); state ${v.state.uri}` : '  no run yet');
  if (v.temporal.running.length) out.push(`  running: ${v.temporal.running.join(', ')}`);
  if (v.temporal.nextRuns[0] && !v.paused) out.push(`  next run ${v.temporal.nextRuns[0]}`);
  if (v.state?.recentRuns.length) out.push('  recent runs:', ...v.state.recentRuns.map((r) => `    ${runLine(r)}`));
  return out;
}

function listLine(s: ScheduleListEntry): string {
  return [s.scheduleId.padEnd(24), (s.paused ? 'paused' : 'active').padEnd(7), timing(s).padEnd(24), s.watch, s.nextRun && !s.paused ? `next ${s.nextRun}` : ''].join('  ').trimEnd();
}

/** Adds `schedule` and its subcommands to the program. */
export function registerSchedule(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('scheduled GLAI retraining: a Temporal Schedule that updates an estimator with the data arriving in a folder or S3 prefix')
    .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.badInput));

  schedule
    .command('create <scheduleId>')
    .description(
      'create a schedule; each run reads only the *.lpb image-set bundles that arrived in the watch location since the last run, updates the current estimator with them, and promotes the update unless its test accuracy drops by more than the threshold',
    )
    .requiredOption('--from <workflowId>', 'pipeline run with GLAI, retrain or merge: its structure, estimator and test split are where the schedule starts')
    .requiredOption('--watch <location>', 'folder (as the cpu workers see it) or s3://bucket/prefix where new *.lpb files arrive (subfolders too; names starting with . are skipped)')
    .option('--every <duration>', 'run at this interval: 1d, 12h, 1h30m… (units w, d, h, m, s)')
    .option('--cron <expr>', 'run on this cron schedule, e.g. "0 3 * * *" (5 fields, or @daily, @hourly…)')
    .option('--timezone <zone>', 'IANA time zone of --cron (default UTC)')
    .option('--promote-threshold <drop>', 'largest test-accuracy drop that still promotes an update (0.005 = half a point)', (v) => {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new InvalidArgumentError('expected a number, e.g. 0.005');
      return n;
    })
    .option('--catchup-window <duration>', 'a run missed while Temporal was down still starts this late (default 1d)')
    .option('--overlap <policy>', `a run due while another runs: ${Object.keys(OVERLAP_POLICIES).join(', ')} (default skip; runs never update the state at once either way)`, overlap)
    .option('--no-pause-on-failure', 'keep the schedule running when a run fails (default: pause it)')
    .option('--paused', 'create it paused')
    .option('--window <duration>', 'sliding window by age, e.g. 30d: each update also subtracts, exactly, the contributions that arrived longer ago')
    .option('--window-arrivals <n>', 'sliding window by count: each update keeps only the last n arrivals (subtracting, exactly, the one that left)', positiveInt)
    .option('--store <uri>', 'artifact store for the state and the estimators (default: LIGHTPATH_STORE / LIGHTPATH_S3_BUCKET / local)')
    .option('--json', 'print the description as JSON')
    .action(
      async (
        scheduleId: string,
        o: {
          from: string;
          watch: string;
          every?: string;
          cron?: string;
          timezone?: string;
          promoteThreshold?: number;
          catchupWindow?: string;
          overlap?: OverlapPolicy;
          pauseOnFailure: boolean;
          paused?: boolean;
          window?: string;
          windowArrivals?: number;
          store?: string;
          json?: boolean;
        },
      ) => {
        await withClient(async (lp) => {
          const { json, ...opts } = o;
          const v = await lp.schedules.create({ scheduleId, ...opts });
          print(json ? JSON.stringify(v) : viewLines(v).join('\n'));
        });
      },
    );

  schedule
    .command('list')
    .description("lightpath's schedules")
    .option('--json', 'print them as JSON')
    .action(async (o: { json?: boolean }) => {
      await withClient(async (lp) => {
        const all = await lp.schedules.list();
        print(o.json ? JSON.stringify(all) : all.length ? all.map(listLine).join('\n') : 'no schedules');
      });
    });

  schedule
    .command('describe <scheduleId>')
    .description('a schedule: timing and policies, current estimator and its accuracy, consumed data, recent runs')
    .option('--json', 'print it as JSON')
    .action(async (scheduleId: string, o: { json?: boolean }) => {
      await withClient(async (lp) => {
        const v = await lp.schedules.describe(scheduleId);
        print(o.json ? JSON.stringify(v) : viewLines(v).join('\n'));
      });
    });

  for (const [name, what] of [
    ['pause', 'pause a schedule (no runs until unpaused; trigger and backfill still run)'],
    ['unpause', 'resume a paused schedule'],
  ] as const) {
    schedule
      .command(`${name} <scheduleId>`)
      .description(what)
      .option('--note <text>', 'why (shown by describe)')
      .option('--json', 'print the outcome as JSON')
      .action(async (scheduleId: string, o: { note?: string; json?: boolean }) => {
        await withClient(async (lp) => {
          await lp.schedules[name](scheduleId, o.note);
          print(o.json ? JSON.stringify({ scheduleId, paused: name === 'pause' }) : `${scheduleId}: ${name}d`);
        });
      });
  }

  schedule
    .command('trigger <scheduleId>')
    .description('start a run now and wait for its outcome (exit 1 if it failed)')
    .option('--overlap <policy>', 'when a run is going: skip, or allow-all (default: start anyway; the runs take turns)', (v) => {
      if (v !== 'skip' && v !== 'allow-all') throw new InvalidArgumentError('expected skip or allow-all');
      return v;
    })
    .option('--no-wait', 'print the run id and return without waiting')
    .option('--json', 'print the outcome as JSON')
    .action(async (scheduleId: string, o: { overlap?: 'skip' | 'allow-all'; wait: boolean; json?: boolean }) => {
      await withClient(async (lp) => {
        const r = await lp.schedules.trigger(scheduleId, { overlap: o.overlap, wait: o.wait });
        if (o.json) print(JSON.stringify({ ...r, skipped: r.workflowId === null }));
        else print(r.workflowId === null ? `${scheduleId}: a run is going; skipped` : r.run ? runLine(r.run) : r.workflowId);
      });
    });

  schedule
    .command('backfill <scheduleId>')
    .description('take now the runs that were due between --start and --end')
    .requiredOption('--start <time>', 'start of the window (ISO 8601)', time)
    .option('--end <time>', 'end of the window (ISO 8601; default now)', time)
    .option('--overlap <policy>', `${Object.keys(OVERLAP_POLICIES).join(', ')} (default: the schedule's; allow-all starts them all at once, and they take turns)`, overlap)
    .option('--json', 'print the outcome as JSON')
    .action(async (scheduleId: string, o: { start: Date; end?: Date; overlap?: OverlapPolicy; json?: boolean }) => {
      await withClient(async (lp) => {
        const end = o.end ?? new Date();
        await lp.schedules.backfill(scheduleId, { start: o.start, end, overlap: o.overlap });
        print(
          o.json
            ? JSON.stringify({ scheduleId, start: o.start, end })
            : `${scheduleId}: backfilling ${o.start.toISOString()} … ${end.toISOString()}; \`lightpath schedule describe ${scheduleId}\` shows the runs`,
        );
      });
    });

  schedule
    .command('delete <scheduleId>')
    .description('delete a schedule (its state stays in the store; a schedule created again with this id continues it)')
    .option('--json', 'print the outcome as JSON')
    .action(async (scheduleId: string, o: { json?: boolean }) => {
      await withClient(async (lp) => {
        await lp.schedules.delete(scheduleId);
        print(o.json ? JSON.stringify({ scheduleId, deleted: true }) : `${scheduleId}: deleted`);
      });
    });
}
