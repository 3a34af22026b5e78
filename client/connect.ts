/**
 * The typed client (`lightpath`): start pipelines, retrains and merges, follow,
 * list, cancel and resume runs, manage retraining schedules. The CLI and the HTTP
 * API are thin faces over it. Connection settings come from Temporal's usual
 * environment and profile file (client/temporal-config.ts). Bad input throws
 * ConfigError naming the field.
 */
import { Client, Connection, type ConnectionOptions, type WorkflowHandle } from '@temporalio/client';
import { temporalSettings } from './temporal-config.js';
import { nanoid } from 'nanoid';
import { parsePipelineConfig, type PipelineConfig } from '../contracts/config.js';
import { ConfigError } from '../contracts/errors.js';
import { CPU_TASK_QUEUE } from '../contracts/queues.js';
import type { GlaiOutcome, PipelineResult } from '../contracts/types.js';
import type { PipelineStage, Progress, RunInfo, RunSummary } from '../contracts/runs.js';
import { progressQuery } from '../contracts/signals.js';
import type { trainPipeline } from '../workflows/train-pipeline.js';
import { cancelRun, getRun, listRuns, resumeRun, watchRun, type RunFilter } from './runs.js';
import type { incrementalRetrain, mergeModels, MergeModelsInput, FeatureOptions } from '../workflows/glai.js';
import type { forgetContributions } from '../workflows/forget.js';
import { forgetSelector, type ForgetOptions } from './forget.js';
import { configuredStoreUri } from '../storage/open.js';
import { checkRunId } from './run-record.js';
import { checkedStore } from './store.js';
import { scheduleApi, type ScheduleApi } from './schedules.js';

/** Where to connect; unset fields come from the environment. */
export interface ConnectOptions {
  address?: string;
  namespace?: string;
}

/** A connected lightpath client. */
export interface LightpathClient {
  client: Client;
  /**
   * Validates `config` (parsed YAML/JSON; throws ConfigError naming the field, with `source` — e.g. the file — in
   * the message; nothing starts) and starts a run with the validated config (defaults filled in).
   */
  startPipeline(config: unknown, opts?: { store?: string; source?: string }): Promise<{ runId: string; handle: WorkflowHandle<typeof trainPipeline>; config: PipelineConfig }>;
  /** Live progress of a run. */
  progress(runId: string): Promise<Progress>;
  /** Waits for a run's result. */
  result(runId: string): Promise<PipelineResult>;
  /** The GLAI outcome (structure, estimator, test split) of a pipeline run with GLAI, a retrain or a merge; waits for it. */
  glaiOutcome(workflowId: string): Promise<GlaiOutcome>;
  /** Starts an incremental retrain of `from`'s estimator on new data (`<source>[#k/n]`, read by a worker); the structure is kept. */
  startRetrain(opts: { from: string; source: string; store?: string }): Promise<{ workflowId: string; handle: WorkflowHandle<typeof incrementalRetrain> }>;
  /**
   * Starts a merge of the estimators of `from` (workflow ids) and of federated `sites`; the structure and test
   * split come from `structureFrom` (default: the first of `from`).
   */
  startMerge(
    opts: { from?: string[]; structureFrom?: string; sites?: string[]; store?: string } & Pick<MergeModelsInput, 'maxFailedSites' | 'siteTimeoutSeconds' | 'siteHeartbeatSeconds' | 'lambda'> & {
        features?: FeatureOptions;
      },
  ): Promise<{ workflowId: string; handle: WorkflowHandle<typeof mergeModels> }>;
  /**
   * Starts forgetting contributions of `from`'s estimator — by id, a federated site's, or those that arrived
   * before a time — exactly, without reading data; the result proves it and links the estimator it replaces.
   */
  startForget(opts: ForgetOptions): Promise<{ workflowId: string; handle: WorkflowHandle<typeof forgetContributions> }>;
  /** A run's status, live progress, result or failure (any lightpath workflow). */
  getRun(runId: string): Promise<RunInfo>;
  /** A pipeline's progress as it changes, until it closes (then its description). */
  watchRun(runId: string, intervalMs?: number): AsyncGenerator<Progress, RunInfo>;
  /** Lightpath runs, newest first. */
  listRuns(filter?: RunFilter): Promise<RunSummary[]>;
  /** Requests cancellation of a run. */
  cancelRun(runId: string): Promise<void>;
  /** Continues a failed/cancelled pipeline run, reusing its finished stages; `fromStage` reruns from there. */
  resumeRun(runId: string, opts?: { fromStage?: PipelineStage }): Promise<{ runId: string; handle: WorkflowHandle<typeof trainPipeline> }>;
  /** Retraining schedules: create, list, describe, pause, unpause, trigger, backfill, delete (cli/schedules.ts). */
  schedules: ScheduleApi;
  close(): Promise<void>;
}

/** Connects to Temporal as configured. */
export async function connect(opts: ConnectOptions = {}): Promise<LightpathClient> {
  const settings = temporalSettings(opts);
  const connection = await Connection.connect(settings.connection as ConnectionOptions);
  const client = new Client({ connection, namespace: settings.namespace });
  const lp: LightpathClient = {
    client,
    async startPipeline(raw, o = {}) {
      const config = parsePipelineConfig(raw, o.source);
      const store = checkedStore(o.store ?? config.execution.store, o.store ? 'store' : 'execution.store');
      const runId = `lightpath-train-${config.name}-${nanoid(10)}`;
      const handle = await client.workflow.start<typeof trainPipeline>('trainPipeline', {
        taskQueue: CPU_TASK_QUEUE,
        workflowId: runId,
        args: [{ config, store }],
      });
      return { runId, handle, config };
    },
    progress: (runId) => client.workflow.getHandle(runId).query(progressQuery),
    result: (runId) => client.workflow.getHandle<typeof trainPipeline>(runId).result(),
    async glaiOutcome(workflowId) {
      const r = (await client.workflow.getHandle(workflowId).result()) as PipelineResult | GlaiOutcome;
      const outcome = 'runId' in r ? r.glai : r;
      if (!outcome?.estimator) throw new ConfigError(`${workflowId}: has no GLAI estimator (run the pipeline with glai.enabled, or give a retrain or merge)`, []);
      return outcome;
    },
    async startRetrain(o) {
      const store = checkedStore(o.store, 'store');
      const from = await lp.glaiOutcome(o.from);
      const workflowId = `lightpath-retrain-${nanoid(10)}`;
      const handle = await client.workflow.start<typeof incrementalRetrain>('incrementalRetrain', {
        taskQueue: CPU_TASK_QUEUE,
        workflowId,
        args: [{ store, structure: from.structure, previous: from.estimator, source: o.source, test: from.test }],
      });
      return { workflowId, handle };
    },
    async startMerge(o) {
      checkedStore(o.store, 'store');
      const from = await Promise.all((o.from ?? []).map((id) => lp.glaiOutcome(id)));
      const base = o.structureFrom ? await lp.glaiOutcome(o.structureFrom) : from[0];
      if (!base) throw new ConfigError('merge: give `from` (estimators to merge) or `structureFrom` (with `sites`)', []);
      if (!from.length && !o.sites?.length) throw new ConfigError('merge: nothing to merge; give `from` and/or `sites`', []);
      const workflowId = `lightpath-merge-${nanoid(10)}`;
      const { from: _f, structureFrom: _s, store, ...rest } = o;
      const handle = await client.workflow.start<typeof mergeModels>('mergeModels', {
        taskQueue: CPU_TASK_QUEUE,
        workflowId,
        args: [{ ...rest, store: store ?? configuredStoreUri(), structure: base.structure, estimators: from.map((f) => f.estimator), test: base.test }],
      });
      return { workflowId, handle };
    },
    async startForget(o) {
      const select = forgetSelector(o);
      const store = checkedStore(o.store, 'store');
      const from = await lp.glaiOutcome(o.from);
      const workflowId = `lightpath-forget-${nanoid(10)}`;
      const handle = await client.workflow.start<typeof forgetContributions>('forgetContributions', {
        taskQueue: CPU_TASK_QUEUE,
        workflowId,
        args: [{ store, structure: from.structure, estimator: from.estimator, select, purge: o.purge ?? false, test: from.test }],
        memo: { forgets: o.from },
      });
      return { workflowId, handle };
    },
    getRun: (runId) => getRun(client, runId),
    watchRun: (runId, intervalMs) => watchRun(client, runId, intervalMs),
    listRuns: (filter) => listRuns(client, filter),
    cancelRun: (runId) => cancelRun(client, runId),
    resumeRun: async (runId, o) => {
      checkRunId(runId);
      return resumeRun(client, runId, o);
    },
    schedules: scheduleApi(client, (id) => lp.glaiOutcome(id)),
    close: () => connection.close(),
  };
  return lp;
}
