/**
 * Building Temporal workers per role. A `cpu` worker hosts the workflows and the
 * light activities on `lightpath`; a `gpu` worker runs training and inference on
 * `lightpath-gpu`, one activity at a time (one per GPU; a training already uses
 * every core it is given), on the backend ml/backend/gpu-worker.ts chooses before
 * it polls. The dev worker is both in one process.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, type LogLevel, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { siteActivities } from '../activities/index.js';
import { selectGpuWorkerBackend, type GpuWorkerOptions } from '../ml/backend/gpu-worker.js';
import { SITE_NAME, siteTaskQueue } from '../contracts/queues.js';
import { ACTIVITY_INTERCEPTORS, roleWorkerOptions, workflowsPath, type WorkerRole } from './roles.js';

export type { WorkerRole } from './roles.js';

/** Options for the workers of one process. */
export interface WorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  roles: WorkerRole[];
  /** Concurrent training activities on a gpu worker (default 1). */
  gpuSlots?: number;
  /** A gpu worker's fallbacks and adapter; default `{ allowCpu: true }` (in-process workers: dev, tests, embedding). */
  gpu?: GpuWorkerOptions;
  /** Federated sites hosted here: each polls `lightpath-site-<name>` and reads only its own `source`. */
  sites?: SiteOptions[];
}

/** A federated site: its name and the data it keeps (a source spec, see activities/sources.ts). */
export interface SiteOptions {
  name: string;
  source: string;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | null = null;

/** The workflow bundle, built once per process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error } });
  return bundle;
}

let runtimeInstalled = false;

/** Messages that say nothing wrong: an activity-only worker (the gpu role) polls no workflow tasks by design. */
const EXPECTED = /^No workflows registered, not polling for workflow tasks/;

/**
 * Installs the Temporal runtime's logger once per process, at `LIGHTPATH_LOG_LEVEL` (default WARN),
 * printing as the SDK's default logger does, less the `EXPECTED` messages.
 */
export function installRuntime(level: LogLevel = (process.env.LIGHTPATH_LOG_LEVEL as LogLevel | undefined) ?? 'WARN'): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const logger = new DefaultLogger(level, ({ level: l, timestampNanos, message, meta }) => {
    if (EXPECTED.test(message)) return;
    const at = new Date(Number(timestampNanos / 1_000_000n)).toISOString();
    if (meta === undefined) console.error(`${at} [${l}] ${message}`);
    else console.error(`${at} [${l}] ${message}`, meta);
  });
  Runtime.install({ logger });
}

/** Connects a worker-side (native) connection, installing the runtime logger first. */
export async function connectWorker(options: Parameters<typeof NativeConnection.connect>[0]): Promise<NativeConnection> {
  installRuntime();
  return NativeConnection.connect(options);
}

/** Creates the workers for the given roles (not yet running). */
export async function createWorkers(opts: WorkerOptions): Promise<Worker[]> {
  const namespace = opts.namespace ?? 'default';
  const workers: Worker[] = [];
  if (opts.roles.includes('cpu')) {
    workers.push(await Worker.create({ connection: opts.connection, namespace, ...roleWorkerOptions('cpu'), workflowBundle: await workflowBundle() }));
  }
  if (opts.roles.includes('gpu')) {
    await selectGpuWorkerBackend(opts.gpu ?? { allowCpu: true });
    workers.push(await Worker.create({ connection: opts.connection, namespace, ...roleWorkerOptions('gpu', opts.gpuSlots ?? 1) }));
  }
  for (const site of opts.sites ?? []) {
    if (!SITE_NAME.test(site.name)) throw new Error(`site name ${JSON.stringify(site.name)}: use letters, digits, - and _ (at most 64)`);
    workers.push(
      await Worker.create({
        connection: opts.connection,
        namespace,
        taskQueue: siteTaskQueue(site.name),
        activities: siteActivities(site.name, site.source),
        interceptors: { activity: ACTIVITY_INTERCEPTORS },
        maxConcurrentActivityTaskExecutions: 1,
      }),
    );
  }
  return workers;
}

/** Runs workers until `signal` aborts (or one fails); shuts all down gracefully. */
export async function runWorkers(workers: Worker[], signal?: AbortSignal): Promise<void> {
  const onAbort = () => workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown());
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
