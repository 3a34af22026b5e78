/** `lightpath dev`: embedded mode (local dev server, local store, in-process worker). */
import type { Command } from 'commander';
import { runDev } from '../dev.js';
import { fail, loadConfigFile } from '../shared.js';

/** Adds `dev` to the program. */
export function registerDev(program: Command): void {
  program
    .command('dev')
    .description('embedded mode: local Temporal dev server, local store, in-process worker, demo pipeline on Fashion-MNIST')
    .option('-c, --config <file>', 'pipeline config (YAML) instead of the demo')
    .option('--keep', 'keep the server and worker running afterwards')
    .action(async (o: { config?: string; keep?: boolean }) => {
      await runDev({ config: o.config ? await loadConfigFile(o.config) : undefined, keep: o.keep }).catch(fail);
    });
}
