/**
 * Standalone worker process: `lightpath worker --role cpu|gpu|all|site:<name>`, or run
 * directly with `LIGHTPATH_ROLE` (and `LIGHTPATH_SITE_DATA` for a site; a gpu worker's
 * fallbacks and adapter from `LIGHTPATH_ALLOW_CPU`, `LIGHTPATH_ALLOW_SOFTWARE_GPU`,
 * `LIGHTPATH_GPU_ADAPTER`). Connects with
 * Temporal's usual environment and profile file (see temporal-config.ts).
 */
import { pathToFileURL } from 'node:url';
import { backendLabel } from '../ml/backend/select.js';
import { selectGpuWorkerBackend, type GpuWorkerOptions } from '../ml/backend/gpu-worker.js';
import { temporalSettings } from '../client/temporal-config.js';
import { connectWorker, createWorkers, runWorkers, type SiteOptions, type WorkerRole } from './create.js';

/**
 * Starts workers of `roles` (and federated `sites`) against the configured cluster and runs them until SIGINT/SIGTERM.
 * A gpu worker chooses its backend first, with the fallbacks `gpu` allows (none by default), and refuses to start without one.
 */
export async function runWorkerProcess(roles: WorkerRole[], gpuSlots = 1, sites: SiteOptions[] = [], gpu: GpuWorkerOptions = {}): Promise<void> {
  if (roles.includes('gpu')) process.stderr.write(`lightpath gpu worker: backend ${backendLabel(await selectGpuWorkerBackend(gpu))}\n`);
  const { connection: options, namespace, address } = temporalSettings();
  const connection = await connectWorker(options);
  const ac = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => ac.abort());
  const workers = await createWorkers({ connection, namespace, roles, gpuSlots, sites, gpu });
  process.stderr.write(`lightpath worker (${[...roles, ...sites.map((s) => `site:${s.name}`)].join('+')}) polling ${address}\n`);
  try {
    await runWorkers(workers, ac.signal);
  } finally {
    await connection.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const role = process.env.LIGHTPATH_ROLE ?? 'all';
  const site = /^site:(.+)$/.exec(role)?.[1];
  const roles: WorkerRole[] = site ? [] : role === 'all' ? ['cpu', 'gpu'] : [role as WorkerRole];
  const sites = site ? [{ name: site, source: process.env.LIGHTPATH_SITE_DATA ?? '' }] : [];
  runWorkerProcess(roles, 1, sites).catch((e: Error) => {
    process.stderr.write(`worker failed: ${e.message}\n`);
    process.exit(1);
  });
}
