/** `lightpath report`: a run's self-contained HTML report (charts, search, GLAI, artifacts). */
import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { PipelineResult } from '../../contracts/types.js';
import { connect, type LightpathClient } from '../../client/connect.js';
import { type RunInfo } from '../../contracts/runs.js';
import { findRun, readRun, readRunAt } from '../../client/run-record.js';
import { buildReport } from '../report/build.js';
import { readGlaiBench } from '../report/bench-data.js';
import { estimatorContributions } from '../../client/forget.js';
import { fail } from '../shared.js';

interface ReportOptions {
  out?: string;
  json?: boolean;
  store?: string;
  with?: string[];
  bench?: string;
  temporal: boolean;
}

/** Adds `report` to the program. */
export function registerReport(program: Command): void {
  program
    .command('report <runId>')
    .description("write a run's report as one self-contained HTML file: loss/accuracy/OUI per epoch, weight-decay search, structure stabilization, GLAI, a GLAI benchmark (--bench), artifacts")
    .option('-o, --out <file>', 'where to write it (default: <runId>.html)')
    .option('--store <uri>', "store holding the run (default: LIGHTPATH_STORE / LIGHTPATH_S3_BUCKET / local; else the one the run's result names)")
    .option('--with <workflowIds...>', 'GLAI retrain, merge or forget workflows whose outcomes to show next to the run')
    .option('--bench <dir>', 'also show a GLAI benchmark result: <dir>/glai.json as `npm run bench:glai` writes it (bench/results)')
    .option('--no-temporal', 'read the store only; do not ask Temporal about the workflow')
    .option('--json', 'print what was written as JSON')
    .action(async (runId: string, o: ReportOptions) => {
      let lp: LightpathClient | null = null;
      try {
        const bench = o.bench === undefined ? null : await readGlaiBench(o.bench);
        let temporalNote: string | null = 'not asked (--no-temporal)';
        if (o.temporal || o.with?.length) {
          lp = await connect().catch((e: Error) => {
            if (o.with?.length) throw e;
            temporalNote = `not reachable (${e.message.split('\n')[0]}); the report comes from the store alone`;
            return null;
          });
        }
        const workflow: RunInfo | null = lp
          ? await lp.getRun(runId).catch((e: Error) => {
              temporalNote = `no answer for ${runId} (${e.message.split('\n')[0]})`;
              return null;
            })
          : null;
        const resultManifest = (workflow?.result as PipelineResult | null)?.manifest;
        const record = (await findRun(runId, o.store)) ?? (resultManifest ? await readRunAt(resultManifest) : null) ?? (await readRun(runId, o.store));
        const others = lp ? await Promise.all((o.with ?? []).map((id) => lp!.getRun(id))) : [];
        const estimator = record.manifest.artifacts.find((a) => a.stage === 'estimator');
        const contributions = estimator ? await estimatorContributions(estimator.ref).catch(() => null) : null;
        const report = await buildReport({ record, workflow, temporalNote, others, contributions, bench, generatedAt: new Date() });
        const out = resolve(o.out ?? `${runId}.html`);
        await writeFile(out, report.html);
        const summary = { runId, out, bytes: Buffer.byteLength(report.html), sections: report.sections, charts: report.charts, workflowStatus: workflow?.status ?? null };
        process.stdout.write(o.json ? `${JSON.stringify(summary)}\n` : `${out} (${report.sections.join(', ')}; ${report.charts} charts)\n`);
      } catch (e) {
        fail(e);
      } finally {
        await lp?.close();
      }
    });
}
