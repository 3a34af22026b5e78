/** `lightpath retrain`: GLAI incremental retrain of a run's estimator on new data only. */
import type { Command } from 'commander';
import { finishGlai } from './glai-output.js';
import { withClient } from '../shared.js';

/** Adds `retrain` to the program. */
export function registerRetrain(program: Command): void {
  program
    .command('retrain')
    .description('GLAI incremental retrain: update the estimator of a run (pipeline with GLAI, retrain or merge) with new data only; the structure is kept')
    .requiredOption('--from <workflowId>', 'the run whose estimator to update')
    .requiredOption('--data <source>', 'new data, read by a worker: fashion-mnist, synthetic, an IDX folder or an image-set bundle file, optionally #k/n for a shard')
    .option('--store <uri>', 'artifact store for the result (default: LIGHTPATH_STORE / LIGHTPATH_S3_BUCKET / local)')
    .option('--no-wait', 'print the workflow id and return without waiting')
    .option('--json', 'print the result as JSON')
    .action(async (o: { from: string; data: string; store?: string; wait: boolean; json?: boolean }) => {
      await withClient(async (lp) => {
        const { workflowId, handle } = await lp.startRetrain({ from: o.from, source: o.data, store: o.store });
        await finishGlai(workflowId, handle, o);
      });
    });
}
