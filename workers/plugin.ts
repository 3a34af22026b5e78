/**
 * lightpath as a Temporal plugin: `plugins: [lightpath({ store, backend })]` in a
 * user's own `Worker.create` makes that worker a lightpath worker of the role its
 * task queue names: `lightpath` → cpu (the workflows and the light activities),
 * `lightpath-gpu` → gpu (training and inference). The activity sets are
 * roles.ts's, the ones lightpath's own workers run.
 */
import { SimplePlugin } from '@temporalio/plugin';
import type { WorkerOptions } from '@temporalio/worker';
import { preferBackend, type BackendName } from '../ml/backend/select.js';
import { useStore } from '../storage/open.js';
import { ROLE_TASK_QUEUES, roleWorkerOptions, workflowsPath, type WorkerRole } from './roles.js';

export type { WorkerRole } from './roles.js';

/** What the plugin sets; every field is optional. */
export interface LightpathPluginOptions {
  /** Artifact store (`s3://bucket/prefix` or a local path) for runs whose input names none; default: `LIGHTPATH_STORE`. */
  store?: string;
  /** The TF.js backend to use (`tensorflow-gpu`, `tensorflow`, `webgpu`, `wasm`, `cpu`); default: `LIGHTPATH_BACKEND`, else the first that loads. */
  backend?: BackendName;
  /** Which lightpath worker this is; default: the one the task queue names. Checked against the task queue. */
  role?: WorkerRole;
  /** gpu role: trainings at once; default: the worker's `maxConcurrentActivityTaskExecutions`, else 1. */
  slots?: number;
}

/** The role a worker polling `taskQueue` has; `role`, when given, must match it. */
function roleOf(taskQueue: string | undefined, role: WorkerRole | undefined): WorkerRole {
  const byQueue = (Object.keys(ROLE_TASK_QUEUES) as WorkerRole[]).find((r) => ROLE_TASK_QUEUES[r] === taskQueue);
  if (byQueue && (role === undefined || role === byQueue)) return byQueue;
  const expected = role ? `${ROLE_TASK_QUEUES[role]} for the ${role} role` : `${ROLE_TASK_QUEUES.cpu} (cpu) or ${ROLE_TASK_QUEUES.gpu} (gpu)`;
  throw new Error(`lightpath plugin: the worker polls ${JSON.stringify(taskQueue)}, but lightpath's workflows schedule its activities on ${expected}`);
}

/** The plugin `lightpath()` returns: a SimplePlugin whose worker configuration depends on the role. */
export class LightpathPlugin extends SimplePlugin {
  constructor(private readonly settings: LightpathPluginOptions = {}) {
    super({ name: 'lightpath', workflowsPath });
    const { slots } = settings;
    if (slots !== undefined && !(Number.isInteger(slots) && slots >= 1)) throw new RangeError(`lightpath plugin: slots must be a positive integer, not ${slots}`);
  }

  /** Adds the role's activities (and on cpu the workflows, unless the worker has a prebuilt bundle); applies `store` and `backend` to this process. */
  override configureWorker(options: WorkerOptions): WorkerOptions {
    const role = roleOf(options.taskQueue, this.settings.role);
    if (role === 'cpu' && options.workflowsPath !== undefined && options.workflowsPath !== workflowsPath) {
      throw new Error(`lightpath plugin: the ${ROLE_TASK_QUEUES.cpu} worker hosts lightpath's workflows; host ${options.workflowsPath} on another task queue`);
    }
    if (this.settings.store !== undefined) useStore(this.settings.store);
    if (this.settings.backend !== undefined) preferBackend(this.settings.backend);
    const own = roleWorkerOptions(role, this.settings.slots ?? options.maxConcurrentActivityTaskExecutions ?? 1, options.identity);
    const interceptors = { ...options.interceptors, activity: [...(options.interceptors?.activity ?? []), ...(own.interceptors?.activity ?? [])] };
    const merged = { ...options, ...own, activities: { ...options.activities, ...own.activities }, interceptors };
    return role === 'cpu' && options.workflowBundle === undefined ? super.configureWorker(merged) : merged;
  }
}

/** lightpath's workflows and activities for a Temporal worker: `Worker.create({ …, plugins: [lightpath({ store, backend })] })`. */
export function lightpath(options: LightpathPluginOptions = {}): LightpathPlugin {
  return new LightpathPlugin(options);
}
