/** `lightpath metrics`: a run's per-epoch metrics as JSONL or a TensorBoard log directory (from the store). */
import { InvalidArgumentError, type Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError } from '../../contracts/errors.js';
import { readRun } from '../../client/run-record.js';
import { metricsRows } from '../metrics/rows.js';
import { writeTensorBoard } from '../metrics/tensorboard.js';
import { fail } from '../shared.js';

/** Adds `metrics` to the program. */
export function registerMetrics(program: Command): void {
  program
    .command('metrics <runId>')
    .description("export a run's per-epoch metrics (its training and every weight-decay candidate): JSONL, one object per epoch, or TensorBoard event files")
    .option(
      '--format <format>',
      'jsonl or tensorboard',
      (v) => {
        if (v !== 'jsonl' && v !== 'tensorboard') throw new InvalidArgumentError('expected jsonl or tensorboard');
        return v;
      },
      'jsonl',
    )
    .option('-o, --out <path>', 'jsonl: a file (default: stdout); tensorboard: the log directory (default: ./tb/<runId>)')
    .option('--store <uri>', 'store holding the run (default: LIGHTPATH_STORE / LIGHTPATH_S3_BUCKET / local)')
    .action(async (runId: string, o: { format: 'jsonl' | 'tensorboard'; out?: string; store?: string }) => {
      try {
        const { manifest } = await readRun(runId, o.store);
        const rows = metricsRows(manifest);
        if (!rows.length) throw new ConfigError(`run ${runId}: no epoch finished yet (manifest status ${manifest.status})`, []);
        if (o.format === 'jsonl') {
          const text = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
          if (o.out) await writeFile(o.out, text);
          else process.stdout.write(text);
          return;
        }
        const files = await writeTensorBoard(rows, resolve(o.out ?? `tb/${runId}`), new Date(manifest.startedAt));
        process.stdout.write(`${files.join('\n')}\n`);
      } catch (e) {
        fail(e);
      }
    });
}
