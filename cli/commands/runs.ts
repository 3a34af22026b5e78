/** `lightpath status|watch|list|cancel|resume`: managing runs. */
import { InvalidArgumentError, type Command } from 'commander';
import { STAGES, type PipelineStage } from '../../contracts/runs.js';
import { RUN_KINDS, type RunInfo, type RunKind, type RunSummary } from '../../contracts/runs.js';
import { followRun, line, showProgress, summaryLines } from '../progress.js';
import { EXIT, positiveInt, withClient } from '../shared.js';
import type { PipelineResult } from '../../contracts/types.js';
import type { ForgetResult } from '../../contracts/forget.js';
import { forgetLines } from './forget.js';

const print = (s: string) => process.stdout.write(`${s}\n`);

/** One line per run, for `list`. */
function summaryRow(r: RunSummary): string {
  return [
    r.runId.padEnd(44),
    r.kind.padEnd(8),
    r.status.padEnd(10),
    r.startTime.replace('T', ' ').slice(0, 19),
    r.resumedFrom ? `resumes ${r.resumedFrom}` : r.forgets ? `forgets from ${r.forgets}` : '',
  ]
    .join('  ')
    .trimEnd();
}

/** A run's description in lines, for `status` and `watch`. */
function infoLines(r: RunInfo): string[] {
  const out = [
    `${r.runId}: ${r.kind} ${r.status}, started ${r.startTime}${r.closeTime ? `, closed ${r.closeTime}` : ''}${r.resumedFrom ? `; resumes ${r.resumedFrom}` : ''}${r.forgets ? `; forgets from ${r.forgets}` : ''}`,
  ];
  if (r.status === 'RUNNING' && r.progress) out.push(`  ${line(r.progress)}`);
  if (r.failure) out.push(`  failure: ${r.failure}`, `  continue it with: lightpath resume ${r.runId}`);
  if (r.kind === 'pipeline' && r.result) out.push(...summaryLines(r.result as PipelineResult).map((l) => `  ${l}`));
  if (r.kind === 'forget' && r.result) out.push(...forgetLines(r.runId, r.result as ForgetResult).slice(1));
  return out;
}

/** Adds the run-management commands to the program. */
export function registerRuns(program: Command): void {
  program
    .command('status <runId>')
    .description("a run's status, live progress, result or failure")
    .option('--json', 'print it as JSON')
    .action(async (runId: string, o: { json?: boolean }) => {
      await withClient(async (lp) => {
        const r = await lp.getRun(runId);
        print(o.json ? JSON.stringify(r) : infoLines(r).join('\n'));
      });
    });

  program
    .command('watch <runId>')
    .description('follow a pipeline run live (a progress bar on a terminal, lines otherwise) until it ends; exit 1 if it failed')
    .option('--json', 'no live output; print the final description as JSON')
    .action(async (runId: string, o: { json?: boolean }) => {
      await withClient(async (lp) => {
        const r = await showProgress(lp, runId, o.json ? 'silent' : undefined);
        print(o.json ? JSON.stringify(r) : infoLines(r).join('\n'));
        if (r.status !== 'COMPLETED') process.exitCode = EXIT.failedRun;
      });
    });

  program
    .command('list')
    .description('lightpath runs, newest first (pipelines, retrains, merges, forgets), with resume and forget chains')
    .option('--kind <kind>', `only this kind: ${Object.values(RUN_KINDS).join(', ')}`, (v) => {
      if (!(Object.values(RUN_KINDS) as string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${Object.values(RUN_KINDS).join(', ')}`);
      return v as RunKind;
    })
    .option('--status <status>', 'only this Temporal status: Running, Completed, Failed, Canceled, Terminated, TimedOut')
    .option('--limit <n>', 'at most this many', positiveInt, 20)
    .option('--json', 'print them as JSON')
    .action(async (o: { kind?: RunKind; status?: string; limit: number; json?: boolean }) => {
      await withClient(async (lp) => {
        const runs = await lp.listRuns({ kind: o.kind, status: o.status, limit: o.limit });
        print(o.json ? JSON.stringify(runs) : runs.length ? runs.map(summaryRow).join('\n') : 'no runs');
      });
    });

  program
    .command('cancel <runId>')
    .description('cancel a run (training stops within a batch; the manifest records it; `lightpath resume` continues it)')
    .option('--json', 'print the outcome as JSON')
    .action(async (runId: string, o: { json?: boolean }) => {
      await withClient(async (lp) => {
        await lp.cancelRun(runId);
        print(o.json ? JSON.stringify({ runId, cancelRequested: true }) : `cancellation requested for ${runId}`);
      });
    });

  program
    .command('resume <runId>')
    .description('continue a failed, cancelled or terminated pipeline run: a new run that reuses every finished stage and continues training from its last checkpoint')
    .option('--from-stage <stage>', `rerun this stage and everything after it (${STAGES.join(', ')})`, (v) => {
      if (!(STAGES as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${STAGES.join(', ')}`);
      return v as PipelineStage;
    })
    .option('--no-wait', 'print the new run id and return without waiting')
    .option('--json', 'print the result as JSON')
    .action(async (runId: string, o: { fromStage?: PipelineStage; wait: boolean; json?: boolean }) => {
      await withClient(async (lp) => {
        const { runId: newId } = await lp.resumeRun(runId, { fromStage: o.fromStage });
        if (!o.wait) {
          print(o.json ? JSON.stringify({ runId: newId, resumedFrom: runId }) : newId);
          return;
        }
        const r = await followRun(lp, newId, o.json ? 'silent' : undefined);
        print(o.json ? JSON.stringify(r) : [...summaryLines(r), `resumed ${runId}; reused stages: ${r.reusedStages.join(', ') || 'none'}`].join('\n'));
      });
    });
}
