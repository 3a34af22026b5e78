/**
 * Real services for integration tests: a Temporal dev server and MinIO on free
 * ports (headless, temporary state), with the environment pointed at them so the
 * store and AWS SDK use MinIO. Nothing is mocked.
 */
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import assert from 'node:assert/strict';
import { registerSecret, scanServer, scanSummary, totals, watchOutput } from './secret-scan.js';
import { openStore } from '../../storage/open.js';
import { S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { before, after } from 'node:test';
import { connect, type LightpathClient } from '../../client/connect.js';
import { startMinio, startTemporal, type MinioServer, type TemporalDevServer } from '../../cli/dev-services.js';
import { connectWorker, createWorkers, runWorkers, type WorkerRole } from '../../workers/create.js';

export interface Services {
  temporal: TemporalDevServer;
  minio: MinioServer;
  client: Client;
  s3: S3Client;
  /** Store URI in MinIO. */
  store: string;
  stop(): Promise<void>;
}

/** Starts Temporal + MinIO and sets the process environment to use them. */
export async function startServices(): Promise<Services> {
  watchOutput();
  // One failing to start must not leave the other running (its process would keep the test file alive).
  const [t, m] = await Promise.allSettled([startTemporal(), startMinio()]);
  if (t.status === 'rejected' || m.status === 'rejected') {
    await Promise.all([t, m].map((r) => (r.status === 'fulfilled' ? r.value.stop() : null)));
    throw t.status === 'rejected' ? t.reason : (m as PromiseRejectedResult).reason;
  }
  const [temporal, minio] = [t.value, m.value];
  registerSecret(minio.secretAccessKey);
  registerSecret(process.env.LIGHTPATH_API_TOKEN);
  Object.assign(process.env, minio.env, { TEMPORAL_ADDRESS: temporal.address });
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const s3 = new S3Client({ endpoint: minio.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey } });
  return {
    temporal,
    minio,
    client,
    s3,
    store: minio.env.LIGHTPATH_STORE!,
    /** Scans the server's histories and the store's manifests for secrets (test/helpers/secret-scan.ts), then stops. */
    async stop() {
      await scanServer(client, openStore(minio.env.LIGHTPATH_STORE!));
      console.log(scanSummary());
      s3.destroy();
      await connection.close();
      await Promise.all([temporal.stop(), minio.stop()]);
      assert.deepEqual(totals.hits, [], 'a secret reached a log, a manifest or a workflow history');
    },
  };
}

/** Runs in-process workers of `roles` against the test server until the returned stop() is called. */
export async function startWorkers(address: string, roles: WorkerRole[], gpuSlots = 1): Promise<{ stop(): Promise<void> }> {
  const connection = await connectWorker({ address });
  const workers = await createWorkers({ connection, roles, gpuSlots });
  const ac = new AbortController();
  const running = runWorkers(workers, ac.signal);
  return {
    async stop() {
      ac.abort();
      await running;
      await connection.close();
    },
  };
}

/** `lightpath worker <args>` in its own process (so a test can SIGKILL it), polling the test server. */
export function spawnWorker(address: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'worker', ...args], {
    env: { ...process.env, TEMPORAL_ADDRESS: address },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Through this process's own streams, so its output is shown and scanned for secrets.
  child.stdout!.on('data', (c: Buffer) => process.stdout.write(c));
  child.stderr!.on('data', (c: Buffer) => process.stderr.write(c));
  return child;
}

/** Waits (up to `timeoutMs`) until a worker polls `taskQueue` for activities: a spawned worker process takes seconds to load. */
export async function waitForActivityPoller(client: Client, taskQueue: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue, kind: proto.temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    if (res.pollers?.length) return;
    if (Date.now() > deadline) throw new Error(`no worker polled ${taskQueue} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The services, in-process workers and client one integration test file uses. */
export interface Stack {
  svc: Services;
  lp: LightpathClient;
  /** Starts a GPU worker process with `--allow-cpu` (this machine has no GPU) plus `extra` flags (killed after the file's tests if still running). */
  spawnGpu(slots?: number, extra?: string[]): ChildProcess;
  /** Starts `lightpath worker <args>` (killed after the file's tests if still running). */
  spawnWorker(args: string[]): ChildProcess;
}

/**
 * Registers before/after hooks that start real services, in-process workers of
 * `roles` and a lightpath client, and stop them all afterwards; returns the stack,
 * filled in once `before` has run.
 */
export function useStack(roles: WorkerRole[], gpuSlots = 1): Stack {
  const children: ChildProcess[] = [];
  let workers: { stop(): Promise<void> } | undefined;
  const stack = {
    spawnGpu(slots = 1, extra = ['--allow-cpu']) {
      return stack.spawnWorker(['--role', 'gpu', '--slots', String(slots), ...extra]);
    },
    spawnWorker(args: string[]) {
      const child = spawnWorker(stack.svc.temporal.address, args);
      children.push(child);
      return child;
    },
  } as Stack;
  before(async () => {
    stack.svc = await startServices();
    workers = await startWorkers(stack.svc.temporal.address, roles, gpuSlots);
    stack.lp = await connect({ address: stack.svc.temporal.address });
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await stack.lp?.close();
    await workers?.stop();
    await stack.svc?.stop();
  });
  return stack;
}
