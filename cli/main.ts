/** The `lightpath` command. */
import { Command, InvalidArgumentError } from 'commander';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { parsePipelineConfig, ConfigError } from '../workflows/config.js';
import { connect, type LightpathClient } from './client.js';
import { followRun, glaiLines, summaryLines } from './progress.js';
import { SITE_NAME } from '../workflows/queues.js';
import type { GlaiOutcome, SiteOutcome } from '../workflows/types.js';
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
  let root: Error = err;
  while (root.cause instanceof Error) root = root.cause;
  process.stderr.write(`error: ${err.message.split('\n')[0]}${root !== err ? `: ${root.message}` : ''}\n`);
  process.exit(EXIT.failedRun);
}

/** Connects, runs `fn`, closes; any error exits through `fail`. */
async function withClient(fn: (lp: LightpathClient) => Promise<void>): Promise<void> {
  try {
    const lp = await connect();
    try {
      await fn(lp);
    } finally {
      await lp.close();
    }
  } catch (e) {
    fail(e);
  }
}

/** Parses a positive integer option. */
function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** Waits for a GLAI workflow (unless --no-wait) and prints its outcome. */
async function finishGlai(workflowId: string, handle: { result(): Promise<GlaiOutcome & { sites?: SiteOutcome[]; added?: number }> }, o: { wait: boolean; json?: boolean }): Promise<void> {
  if (!o.wait) {
    process.stdout.write(o.json ? `${JSON.stringify({ workflowId })}\n` : `${workflowId}\n`);
    return;
  }
  const r = await handle.result();
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ workflowId, ...r })}\n`);
    return;
  }
  const lines = [workflowId, ...glaiLines(r)];
  if (r.added !== undefined) lines.push(`  read ${r.added} new samples only; the structure is unchanged`);
  for (const s of r.sites ?? []) lines.push(`  site ${s.site.padEnd(16)} ${s.status}${s.estimator ? ` (${s.estimator.count} samples)` : ''}${s.error ? `: ${s.error}` : ''}`);
  process.stdout.write(`${lines.join('\n')}\n`);
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
    const raw = await loadConfigFile(file).catch(fail);
    await withClient(async (lp) => {
      const { runId } = await lp.startPipeline(raw);
      if (!o.wait) {
        process.stdout.write(o.json ? `${JSON.stringify({ runId })}\n` : `${runId}\n`);
        return;
      }
      const r = await followRun(lp, runId, o.json ? () => undefined : undefined);
      process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : `${summaryLines(r).join('\n')}\n`);
    });
  });

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

program
  .command('merge')
  .description('GLAI merge: sum the statistics of estimators (exact) and/or of federated sites, solve, evaluate')
  .option('--from <workflowIds...>', 'runs (pipeline with GLAI, retrain or merge) whose estimators to merge')
  .option('--sites <names>', 'federated sites (comma-separated), each served by `lightpath worker --role site:<name> --data …`', (v) => v.split(',').map((x) => x.trim()).filter(Boolean))
  .option('--structure-from <workflowId>', 'run whose structure and test split to use (default: the first --from)')
  .option('--max-failed <n>', 'sites that may fail while the merge still completes (recorded)', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
    return n;
  }, 0)
  .option('--site-timeout <seconds>', 'time each site has, including waiting for its worker', positiveInt, 3600)
  .option('--store <uri>', 'artifact store for the result (default: LIGHTPATH_STORE / LIGHTPATH_S3_BUCKET / local)')
  .option('--no-wait', 'print the workflow id and return without waiting')
  .option('--json', 'print the result as JSON')
  .action(async (o: { from?: string[]; sites?: string[]; structureFrom?: string; maxFailed: number; siteTimeout: number; store?: string; wait: boolean; json?: boolean }) => {
    for (const site of o.sites ?? []) if (!SITE_NAME.test(site)) fail(new ConfigError(`--sites: ${JSON.stringify(site)} is not a site name (letters, digits, - and _)`, []));
    await withClient(async (lp) => {
      const { workflowId, handle } = await lp.startMerge({ from: o.from, sites: o.sites, structureFrom: o.structureFrom, maxFailedSites: o.maxFailed, siteTimeoutSeconds: o.siteTimeout, store: o.store });
      await finishGlai(workflowId, handle, o);
    });
  });

program
  .command('worker')
  .description('run a worker against the configured cluster (TEMPORAL_ADDRESS)')
  .option('--role <role>', 'cpu (workflows + light activities), gpu (training), all, or site:<name> (a federated site)', (v) => {
    if (!['cpu', 'gpu', 'all'].includes(v) && !/^site:[A-Za-z0-9_-]{1,64}$/.test(v)) throw new InvalidArgumentError('expected cpu, gpu, all or site:<name> (letters, digits, - and _)');
    return v;
  }, 'all')
  .option('--data <source>', "a site's own data: fashion-mnist, synthetic, an IDX folder or an image-set bundle file, optionally #k/n for a shard; it never leaves the site")
  .option('--slots <n>', 'training activities at once on this worker (one per GPU; on CPU each uses one core)', positiveInt, 1)
  .action(async (o: { role: string; slots: number; data?: string }) => {
    const site = /^site:(.+)$/.exec(o.role)?.[1];
    if (site && !o.data) fail(new ConfigError('--data: a site worker needs its data source', []));
    if (!site && o.data) fail(new ConfigError('--data: only a site worker (--role site:<name>) reads its own data', []));
    const roles = site ? [] : o.role === 'all' ? (['cpu', 'gpu'] as const) : [o.role as 'cpu' | 'gpu'];
    await runWorkerProcess([...roles], o.slots, site ? [{ name: site, source: o.data! }] : []).catch(fail);
  });

await program.parseAsync();
