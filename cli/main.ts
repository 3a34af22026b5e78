/** The `lightpath` command. */
import { Command, InvalidArgumentError } from 'commander';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { parsePipelineConfig, ConfigError } from '../workflows/config.js';
import { connect } from './client.js';
import { followRun, summaryLines } from './progress.js';
import { runDev } from './dev.js';
import { runWorkerProcess } from '../workers/main.js';

/** Exit codes: distinguish bad input, a failed run and an unreachable service. */
export const EXIT = { ok: 0, failedRun: 1, badInput: 2, connection: 3 } as const;

/** Reads and validates a YAML/JSON pipeline config file. */
export async function loadConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code})`, []);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${path}: not valid YAML: ${(e as Error).message.split('\n')[0]}`, []);
  }
  parsePipelineConfig(raw, path);
  return raw;
}

function fail(e: unknown): never {
  const err = e as Error & { code?: string };
  if (err instanceof ConfigError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(EXIT.badInput);
  }
  if (/ECONNREFUSED|UNAVAILABLE|Failed to connect|TransportError/i.test(`${err.message} ${err.code ?? ''}`)) {
    process.stderr.write(`error: cannot reach Temporal at ${process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233'} (${err.message.split('\n')[0]}); start a server or set TEMPORAL_ADDRESS\n`);
    process.exit(EXIT.connection);
  }
  process.stderr.write(`error: ${err.message.split('\n')[0]}${err.cause ? ` (${(err.cause as Error).message})` : ''}\n`);
  process.exit(EXIT.failedRun);
}

const program = new Command('lightpath').description('Deep-learning training pipelines as durable Temporal workflows');

program
  .command('dev')
  .description('embedded mode: local Temporal dev server, local store, in-process worker, demo pipeline on Fashion-MNIST')
  .option('-c, --config <file>', 'pipeline config (YAML) instead of the demo')
  .option('--keep', 'keep the server and worker running afterwards')
  .action(async (o: { config?: string; keep?: boolean }) => {
    await runDev({ config: o.config ? await loadConfigFile(o.config) : undefined, keep: o.keep }).catch(fail);
  });

program
  .command('run <config>')
  .description('run a pipeline from a YAML config on the configured Temporal cluster (TEMPORAL_ADDRESS) and store')
  .option('--no-wait', 'print the run id and return without waiting')
  .option('--json', 'print the result as JSON')
  .action(async (file: string, o: { wait: boolean; json?: boolean }) => {
    try {
      const raw = await loadConfigFile(file);
      const lp = await connect();
      try {
        const { runId } = await lp.startPipeline(raw);
        if (!o.wait) {
          process.stdout.write(o.json ? `${JSON.stringify({ runId })}\n` : `${runId}\n`);
          return;
        }
        const r = await followRun(lp, runId, o.json ? () => undefined : undefined);
        process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : `${summaryLines(r).join('\n')}\n`);
      } finally {
        await lp.close();
      }
    } catch (e) {
      fail(e);
    }
  });

program
  .command('worker')
  .description('run a worker against the configured cluster (TEMPORAL_ADDRESS)')
  .option('--role <role>', 'cpu (workflows + light activities), gpu (training), or all', (v) => {
    if (!['cpu', 'gpu', 'all'].includes(v)) throw new InvalidArgumentError('expected cpu, gpu or all');
    return v;
  }, 'all')
  .option('--slots <n>', 'training activities at once on this worker (one per GPU; on CPU each uses one core)', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
    return n;
  }, 1)
  .action(async (o: { role: string; slots: number }) => {
    await runWorkerProcess(o.role === 'all' ? ['cpu', 'gpu'] : [o.role as 'cpu' | 'gpu'], o.slots).catch(fail);
  });

await program.parseAsync();
