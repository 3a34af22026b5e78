/**
 * The typed client API used by the CLI (and by library users): start a pipeline,
 * query its progress, wait for its result. Connection settings come from
 * Temporal's usual environment: `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`,
 * `TEMPORAL_API_KEY` (TLS on), `TEMPORAL_TLS_CERT`/`TEMPORAL_TLS_KEY` (mTLS).
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { nanoid } from 'nanoid';
import { parsePipelineConfig, type PipelineConfig } from '../workflows/config.js';
import { CPU_TASK_QUEUE } from '../workflows/queues.js';
import type { PipelineResult, Progress } from '../workflows/types.js';
import type { trainPipeline } from '../workflows/train-pipeline.js';
import { configuredStoreUri } from '../storage/open.js';

/** Where to connect; unset fields come from the environment. */
export interface ConnectOptions {
  address?: string;
  namespace?: string;
}

/** A connected lightpath client. */
export interface LightpathClient {
  client: Client;
  /** Validates `config` (throws ConfigError naming the field; nothing starts) and starts a run. */
  startPipeline(config: unknown, opts?: { store?: string }): Promise<{ runId: string; handle: WorkflowHandle<typeof trainPipeline>; config: PipelineConfig }>;
  /** Live progress of a run. */
  progress(runId: string): Promise<Progress>;
  /** Waits for a run's result. */
  result(runId: string): Promise<PipelineResult>;
  close(): Promise<void>;
}

/** Connects to Temporal as configured. */
export async function connect(opts: ConnectOptions = {}): Promise<LightpathClient> {
  const apiKey = process.env.TEMPORAL_API_KEY;
  const connection = await Connection.connect({
    address: opts.address ?? process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    ...(apiKey ? { apiKey, tls: true } : {}),
    ...(process.env.TEMPORAL_TLS_CERT && process.env.TEMPORAL_TLS_KEY
      ? { tls: { clientCertPair: { crt: Buffer.from(process.env.TEMPORAL_TLS_CERT), key: Buffer.from(process.env.TEMPORAL_TLS_KEY) } } }
      : {}),
  });
  const client = new Client({ connection, namespace: opts.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default' });
  return {
    client,
    async startPipeline(raw, o = {}) {
      const config = parsePipelineConfig(raw);
      const runId = `lightpath-train-${config.name}-${nanoid(10)}`;
      const handle = await client.workflow.start<typeof trainPipeline>('trainPipeline', {
        taskQueue: CPU_TASK_QUEUE,
        workflowId: runId,
        args: [{ config: raw ?? {}, store: o.store ?? config.execution.store ?? configuredStoreUri() }],
      });
      return { runId, handle, config };
    },
    progress: (runId) => client.workflow.getHandle(runId).query<Progress>('progress'),
    result: (runId) => client.workflow.getHandle<typeof trainPipeline>(runId).result(),
    close: () => connection.close(),
  };
}
