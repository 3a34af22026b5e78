/**
 * Local services for embedded mode and tests: a Temporal dev server and a MinIO
 * server on free ports, started from the binaries `scripts/provision.ts` provides,
 * and stopped (with their whole process group) when done.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { S3Client, CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { ensureMinio, ensureTemporal } from '../scripts/provision.js';

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, proc: ChildProcess, check: () => Promise<boolean>, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with code ${proc.exitCode}: ${output().slice(-800)}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs / 1000}s: ${output().slice(-800)}`);
}

const running = new Set<ChildProcess>();
let exitHook = false;

/** Services run in their own process group; make sure none outlives this process. */
function killAllOnExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const p of running) {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

function launch(bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): { proc: ChildProcess; output: () => string } {
  killAllOnExit();
  const proc = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  let buf = '';
  const keep = (d: Buffer) => {
    buf = (buf + d.toString()).slice(-20000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  return { proc, output: () => buf };
}

/** Signals a service's process group and waits for it to exit; SIGTERM escalates to SIGKILL after `graceMs` (SIGKILL: a crash, as fault tests make one). */
async function endProcess(proc: ChildProcess, signal: 'SIGTERM' | 'SIGKILL', graceMs = 5000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(-proc.pid!, sig);
      return true;
    } catch {
      return false;
    }
  };
  if (!send(signal)) return;
  const timer = signal === 'SIGKILL' ? null : setTimeout(() => send('SIGKILL'), graceMs);
  await exited;
  if (timer) clearTimeout(timer);
}

/** A running Temporal dev server. */
export interface TemporalDevServer {
  address: string;
  /** The frontend's port (give it back as `port` to restart on the same address). */
  port: number;
  uiUrl: string | null;
  namespace: string;
  stop(): Promise<void>;
  /** SIGKILLs the server (a crash: no shutdown). */
  kill(): Promise<void>;
}

/**
 * Starts `temporal server start-dev` on free ports (or the frontend on `port`); `dbFile` persists state (SQLite),
 * `ui` enables the Web UI. A server started again on the same `dbFile` and `port` continues where the old one stopped.
 */
export async function startTemporal(opts: { dbFile?: string; ui?: boolean; port?: number } = {}): Promise<TemporalDevServer> {
  return retryPortRace(() => startTemporalOnce(opts));
}

/**
 * Runs `start` again (it picks fresh free ports) when the server lost a port race:
 * another process bound one of its ports between the pick and the bind, and it exited
 * saying so. Three tries; any other failure is thrown at once.
 */
async function retryPortRace<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (attempt >= 3 || !/already in use/i.test((e as Error).message)) throw e;
    }
  }
}

async function startTemporalOnce(opts: { dbFile?: string; ui?: boolean; port?: number }): Promise<TemporalDevServer> {
  const bin = await ensureTemporal();
  const port = opts.port ?? (await freePort());
  const uiPort = await freePort();
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort), '--log-level', 'warn'];
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  if (!opts.ui) args.push('--headless');
  const { proc, output } = launch(bin, args);
  const address = `127.0.0.1:${port}`;
  await waitFor(
    'temporal dev server',
    proc,
    async () => {
      const c = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await c.workflowService.describeNamespace({ namespace: 'default' });
        return true;
      } finally {
        await c.close();
      }
    },
    60_000,
    output,
  );
  return { address, port, uiUrl: opts.ui ? `http://127.0.0.1:${uiPort}` : null, namespace: 'default', stop: () => endProcess(proc, 'SIGTERM'), kill: () => endProcess(proc, 'SIGKILL') };
}

/** A running MinIO server with generated credentials and one bucket. */
export interface MinioServer {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  /** Environment that points the AWS SDK (and lightpath's store) at this server. */
  env: Record<string, string>;
  /** The data folder and port (give them back, with the credentials, to restart the same store). */
  dataDir: string;
  port: number;
  /** Stops the server; removes the data folder unless the caller gave it. */
  stop(): Promise<void>;
  /** SIGKILLs the server (an outage), keeping its data folder. */
  kill(): Promise<void>;
}

/** Where and as whom MinIO runs; unset: a free port, a temporary data folder, generated credentials. */
export interface MinioOptions {
  port?: number;
  /** Kept when the server stops; a server started on it again serves the same objects. */
  dataDir?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

/** Starts MinIO (see `MinioOptions`) and creates `bucket` unless it exists. */
export async function startMinio(bucket = 'lightpath', opts: MinioOptions = {}): Promise<MinioServer> {
  return retryPortRace(() => startMinioOnce(bucket, opts));
}

async function startMinioOnce(bucket: string, opts: MinioOptions): Promise<MinioServer> {
  const bin = await ensureMinio();
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'lightpath-minio-')));
  const port = opts.port ?? (await freePort());
  const consolePort = await freePort();
  const accessKeyId = opts.accessKeyId ?? `lp${randomBytes(6).toString('hex')}`;
  const secretAccessKey = opts.secretAccessKey ?? randomBytes(18).toString('base64url');
  const { proc, output } = launch(bin, ['server', dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'], {
    ...process.env,
    MINIO_ROOT_USER: accessKeyId,
    MINIO_ROOT_PASSWORD: secretAccessKey,
    MINIO_BROWSER: 'off',
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor('minio', proc, async () => (await fetch(`${endpoint}/minio/health/live`)).ok, 60_000, output);
  const s3 = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey } });
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
  s3.destroy();
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    bucket,
    env: {
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_REGION: 'us-east-1',
      LIGHTPATH_S3_ENDPOINT: endpoint,
      LIGHTPATH_STORE: `s3://${bucket}/lightpath`,
    },
    dataDir,
    port,
    stop: async () => {
      await endProcess(proc, 'SIGTERM');
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
    kill: () => endProcess(proc, 'SIGKILL'),
  };
}
