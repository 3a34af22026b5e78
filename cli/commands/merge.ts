/** `lightpath merge`: GLAI merge of estimators and federated sites. */
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../../contracts/errors.js';
import { SITE_NAME } from '../../contracts/queues.js';
import { finishGlai } from './glai-output.js';
import { fail, positiveInt, withClient } from '../shared.js';

/** Adds `merge` to the program. */
export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('GLAI merge: sum the statistics of estimators (exact) and/or of federated sites, solve, evaluate')
    .option('--from <workflowIds...>', 'runs (pipeline with GLAI, retrain or merge) whose estimators to merge')
    .option('--sites <names>', 'federated sites (comma-separated), each served by `lightpath worker --role site:<name> --data …`', (v) =>
      v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .option('--structure-from <workflowId>', 'run whose structure and test split to use (default: the first --from)')
    .option(
      '--max-failed <n>',
      'sites that may fail while the merge still completes (recorded)',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
        return n;
      },
      0,
    )
    .option('--site-timeout <seconds>', 'time each site has, including waiting for its worker', positiveInt, 3600)
    .option('--store <uri>', 'artifact store for the result (default: LIGHTPATH_STORE / LIGHTPATH_S3_BUCKET / local)')
    .option('--no-wait', 'print the workflow id and return without waiting')
    .option('--json', 'print the result as JSON')
    .action(async (o: { from?: string[]; sites?: string[]; structureFrom?: string; maxFailed: number; siteTimeout: number; store?: string; wait: boolean; json?: boolean }) => {
      for (const site of o.sites ?? []) if (!SITE_NAME.test(site)) fail(new ConfigError(`--sites: ${JSON.stringify(site)} is not a site name (letters, digits, - and _)`, []));
      await withClient(async (lp) => {
        const { workflowId, handle } = await lp.startMerge({
          from: o.from,
          sites: o.sites,
          structureFrom: o.structureFrom,
          maxFailedSites: o.maxFailed,
          siteTimeoutSeconds: o.siteTimeout,
          store: o.store,
        });
        await finishGlai(workflowId, handle, o);
      });
    });
}
