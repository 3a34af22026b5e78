/** `lightpath run`: start a pipeline from a YAML config and follow it. */
import type { Command } from 'commander';
import { followRun, summaryLines } from '../progress.js';
import { fail, loadConfigFile, withClient } from '../shared.js';

/** Adds `run` to the program. */
export function registerRun(program: Command): void {
  program
    .command('run <config>')
    .description('run a pipeline from a YAML config on the configured Temporal cluster (TEMPORAL_ADDRESS) and store')
    .option('--no-wait', 'print the run id and return without waiting')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, o: { wait: boolean; json?: boolean }) => {
      const config = await loadConfigFile(file).catch(fail);
      await withClient(async (lp) => {
        const { runId } = await lp.startPipeline(config);
        if (!o.wait) {
          process.stdout.write(o.json ? `${JSON.stringify({ runId })}\n` : `${runId}\n`);
          return;
        }
        const r = await followRun(lp, runId, o.json ? 'silent' : undefined);
        process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : `${summaryLines(r).join('\n')}\n`);
      });
    });
}
