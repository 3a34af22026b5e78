/**
 * Standalone worker process: `lightpath worker --role cpu|gpu|all|site:<name>`, or run
 * directly with `LIGHTPATH_ROLE` (and `LIGHTPATH_SITE_DATA` for a site). Connects with Temporal's usual environment
 * (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, TLS via `TEMPORAL_TLS_*`/API key).
 */
import { pathToFileURL } from 'node:url';
import { connectWorker, createWorkers, runWorkers, type SiteOptions, type WorkerRole } from './create.js';

/** Starts workers of `roles` (and federated `sites`) against the configured cluster and runs them until SIGINT/SIGTERM. */
export async function runWorkerProcess(roles: WorkerRole[], gpuSlots = 1, sites: SiteOptions[] = []): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const apiKey = process.env.TEMPORAL_API_KEY;
  const connection = await connectWorker({
    address,
    ...(apiKey ? { apiKey, tls: true } : {}),
    ...(process.env.TEMPORAL_TLS_CERT && process.env.TEMPORAL_TLS_KEY
      ? { tls: { clientCertPair: { crt: Buffer.from(process.env.TEMPORAL_TLS_CERT), key: Buffer.from(process.env.TEMPORAL_TLS_KEY) } } }
      : {}),
  });
  const ac = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => ac.abort());
  const workers = await createWorkers({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default', roles, gpuSlots, sites });
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
  runWorkerProcess(roles, 1, site ? [{ name: site, source: process.env.LIGHTPATH_SITE_DATA ?? '' }] : []).catch((e: Error) => {
    process.stderr.write(`worker failed: ${e.message}\n`);
    process.exit(1);
  });
}
