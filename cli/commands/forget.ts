/** `lightpath forget`: exact forgetting of contributions (a site, a shard, a time window) from a run's GLAI estimator. */
import type { Command } from 'commander';
import { estimatorContributions } from '../../client/forget.js';
import type { Contribution, ForgetResult } from '../../contracts/forget.js';
import { glaiLines } from '../progress.js';
import { withClient } from '../shared.js';

const print = (s: string) => process.stdout.write(`${s}\n`);

/** One line per contribution: id, samples, site, arrival, source. */
export function contributionLines(list: Contribution[]): string[] {
  return list.map((c) => `  ${c.id}  ${String(c.count).padStart(7)} samples  ${(c.site ? `site ${c.site}` : '').padEnd(14)}  ${c.arrivedAt}  ${c.source}`);
}

/** The lines of a finished forget: the new estimator, what was removed, the proof, what was purged. */
export function forgetLines(workflowId: string, r: ForgetResult): string[] {
  const e = r.exactness;
  return [
    workflowId,
    ...glaiLines(r),
    `  replaces ${r.replaces.ref.uri} (${r.replaces.count} samples; it stays in the store)`,
    `  removed ${r.removed.length} contribution(s), ${r.replaces.count - r.estimator.count} samples; ${r.remaining.length} remain:`,
    ...contributionLines(r.removed),
    `  exact: solution differs from a solve on the remaining contributions summed afresh by ${e.relativeDifference.toExponential(2)} (≤ ${e.tolerance}); statistics by ${e.statisticsDifference.toExponential(2)}`,
    `  subtract ${r.seconds.subtract.toFixed(3)} s, solve ${r.seconds.solve.toFixed(3)} s, proof ${r.seconds.proof.toFixed(3)} s; no data read`,
    ...r.purged.map((u) => `  purged ${u}`),
  ];
}

/** Adds `forget` to the program. */
export function registerForget(program: Command): void {
  program
    .command('forget')
    .description("GLAI exact forgetting: subtract contributions' statistics from a run's estimator, re-solve, prove it equals never having trained on them")
    .requiredOption('--from <workflowId>', 'the run (pipeline with GLAI, retrain, merge or forget) whose estimator to forget from')
    .option('--contribution <ids...>', 'contribution ids (`--list` shows them)')
    .option('--site <name>', 'every contribution of this federated site')
    .option('--before <time>', 'every contribution that arrived before this time (ISO 8601)')
    .option('--purge', "also delete the removed contributions' statistics artifacts from the store")
    .option('--list', "only list the estimator's contributions")
    .option('--store <uri>', 'artifact store for the result (default: LIGHTPATH_STORE / LIGHTPATH_S3_BUCKET / local)')
    .option('--no-wait', 'print the workflow id and return without waiting')
    .option('--json', 'print the result as JSON')
    .action(async (o: { from: string; contribution?: string[]; site?: string; before?: string; purge?: boolean; list?: boolean; store?: string; wait: boolean; json?: boolean }) => {
      await withClient(async (lp) => {
        if (o.list) {
          const list = await estimatorContributions((await lp.glaiOutcome(o.from)).estimator.ref);
          print(o.json ? JSON.stringify(list) : list.length ? contributionLines(list).join('\n') : `${o.from}: its estimator lists no contributions (written before provenance: it is one)`);
          return;
        }
        const { workflowId, handle } = await lp.startForget({ from: o.from, contributions: o.contribution, site: o.site, before: o.before, purge: o.purge, store: o.store });
        if (!o.wait) {
          print(o.json ? JSON.stringify({ workflowId }) : workflowId);
          return;
        }
        const r = await handle.result();
        print(o.json ? JSON.stringify({ workflowId, ...r }) : forgetLines(workflowId, r).join('\n'));
      });
    });
}
