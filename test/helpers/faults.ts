/**
 * The fault harness: real services that a test breaks on purpose. A Temporal dev
 * server on a persisted SQLite file and a fixed port (SIGKILLed and started again on
 * both), MinIO on a data folder (stopped and started again on the same port, folder
 * and credentials), and lightpath workers as separate `lightpath worker` processes,
 * each in its own process group (SIGKILLed and restarted). Every wait has a
 * deadline; every process started is stopped in the file's `after` hook (and on exit).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { connect, type LightpathClient } from '../../client/connect.js';
import { startMinio, startTemporal, type MinioServer, type TemporalDevServer } from '../../cli/dev-services.js';
import { progressQuery } from '../../contracts/signals.js';
import type { Progress } from '../../contracts/runs.js';
import { CLI_FROM_SOURCE } from './cli.js';

/** Polls `check` every `intervalMs` until it returns a value other than undefined/false (an error it throws ends the wait); throws naming `what` after `timeoutMs`. */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p`, or an error naming `what` after `timeoutMs` (the timer is cleared, so it keeps nothing alive). */
export async function within<T>(what: string, p: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs / 1000} s`)), timeoutMs)))]);
  } finally {
    clearTimeout(timer);
  }
}

const groups = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of groups) killGroup(p);
});

function killGroup(p: ChildProcess): void {
  try {
    process.kill(-p.pid!, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** A process the test started (its own process group), with its recent output. */
export class Proc {
  readonly proc: ChildProcess;
  private buf = '';
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    groups.add(this.proc);
    const keep = (d: Buffer) => {
      this.buf = (this.buf + d.toString()).slice(-40_000);
      if (process.env.LIGHTPATH_FAULT_LOG) process.stderr.write(`[${name}] ${d.toString()}`);
    };
    this.proc.stdout!.on('data', keep);
    this.proc.stderr!.on('data', keep);
    this.exited = new Promise((r) =>
      this.proc.once('exit', (code) => {
        groups.delete(this.proc);
        r(code);
      }),
    );
  }

  output(): string {
    return this.buf;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** SIGKILLs the whole process group and waits for the exit. */
  async kill(): Promise<void> {
    if (!this.running) return;
    killGroup(this.proc);
    await this.exited;
  }

  /** Waits until the output matches `re` (fails if the process exits first). */
  async waitFor(re: RegExp, timeoutMs: number): Promise<void> {
    await waitUntil(
      `${this.name} printing ${re}`,
      () => {
        if (re.test(this.buf)) return true;
        if (!this.running) throw new Error('exited');
        return false;
      },
      timeoutMs,
      100,
    );
    if (!re.test(this.buf)) throw new Error(`${this.name} exited before printing ${re}: ${this.buf.slice(-2000)}`);
  }
}

/** A `lightpath worker` process that can be SIGKILLed and started again with the same arguments. */
export class WorkerProc {
  current: Proc;
  starts = 1;

  constructor(
    private readonly stack: FaultStack,
    readonly args: string[],
    private readonly env: Record<string, string>,
  ) {
    this.current = this.spawn();
  }

  private spawn(): Proc {
    return new Proc(`worker ${this.args.join(' ')}`, [...CLI_FROM_SOURCE, 'worker', ...this.args], { ...process.env, ...this.stack.env, ...this.env });
  }

  /** Waits until it polls. */
  ready(timeoutMs = 120_000): Promise<void> {
    return this.current.waitFor(/polling/, timeoutMs);
  }

  kill(): Promise<void> {
    return this.current.kill();
  }

  /** Starts it again (after a kill). */
  restart(): Proc {
    this.starts++;
    this.current = this.spawn();
    return this.current;
  }
}

/** The services, workers and client of one fault test file. */
export interface FaultStack {
  temporal: TemporalDevServer;
  minio: MinioServer;
  lp: LightpathClient;
  /** The store (`s3://lightpath/<prefix>`) runs use; `storeAt` gives another prefix in the same bucket. */
  store: string;
  storeAt(prefix: string): string;
  /** Environment pointing a process at these services. */
  env: Record<string, string>;
  /** Starts `lightpath worker <args>` (with extra `env`). */
  worker(args: string[], env?: Record<string, string>): WorkerProc;
  /** SIGKILLs the Temporal server. */
  killTemporal(): Promise<void>;
  /** Starts the Temporal server again on the same SQLite file and port; resolves when it answers. */
  restartTemporal(): Promise<void>;
  /** Stops MinIO (SIGKILL: connections refused from now on). */
  stopMinio(): Promise<void>;
  /** Starts MinIO again on the same port, data folder and credentials; resolves when it is healthy. */
  restartMinio(): Promise<void>;
  /** Starts a `lightpath <args>` subprocess (e.g. `watch`). */
  cli(args: string[]): Proc;
}

/**
 * Registers before/after hooks that start a Temporal dev server (persisted SQLite,
 * fixed port), MinIO (data folder kept across restarts) and a lightpath client; the
 * workers each test starts are stopped afterwards. Returns the stack, filled in once `before` ran.
 */
export function useFaultStack(): FaultStack {
  let dir = '';
  let dbFile = '';
  const workers: WorkerProc[] = [];
  const others: Proc[] = [];
  const stack = {
    storeAt: (prefix: string) => `s3://${stack.minio.bucket}/${prefix}`,
    worker(args: string[], env: Record<string, string> = {}) {
      const w = new WorkerProc(stack, args, env);
      workers.push(w);
      return w;
    },
    async killTemporal() {
      await stack.temporal.kill();
    },
    async restartTemporal() {
      stack.temporal = await startTemporal({ dbFile, port: stack.temporal.port });
    },
    async stopMinio() {
      await stack.minio.kill();
    },
    async restartMinio() {
      const m = stack.minio;
      stack.minio = await startMinio(m.bucket, { port: m.port, dataDir: m.dataDir, accessKeyId: m.accessKeyId, secretAccessKey: m.secretAccessKey });
    },
    cli(args: string[]) {
      const p = new Proc(`lightpath ${args.join(' ')}`, [...CLI_FROM_SOURCE, ...args], { ...process.env, ...stack.env });
      others.push(p);
      return p;
    },
  } as FaultStack;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lightpath-faults-'));
    dbFile = join(dir, 'temporal.db');
    const [temporal, minio] = await Promise.all([startTemporal({ dbFile }), startMinio('lightpath', { dataDir: join(dir, 'minio') })]);
    stack.temporal = temporal;
    stack.minio = minio;
    stack.env = { ...minio.env, TEMPORAL_ADDRESS: temporal.address };
    Object.assign(process.env, stack.env);
    stack.store = minio.env.LIGHTPATH_STORE!;
    stack.lp = await connect({ address: temporal.address });
  });
  after(async () => {
    await Promise.all([...workers.map((w) => w.kill()), ...others.map((p) => p.kill())]);
    await stack.lp?.close();
    await Promise.all([stack.temporal?.stop(), stack.minio?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return stack;
}

/** The run's live progress (null while the query cannot be answered). */
export function progress(lp: LightpathClient, runId: string): Promise<Progress | null> {
  return lp.client.workflow
    .getHandle(runId)
    .query(progressQuery)
    .catch(() => null);
}

/** Waits until the run has finished epoch `k` (its progress query says so); returns the progress then. */
export function waitEpoch(lp: LightpathClient, runId: string, k: number, timeoutMs: number): Promise<Progress> {
  return waitUntil(
    `${runId} reaching epoch ${k}`,
    async () => {
      const p = await progress(lp, runId);
      if (p && (p.stage === 'failed' || p.stage === 'cancelled')) throw new Error(`${runId} ${p.stage}`);
      return p && p.epoch >= k ? p : undefined;
    },
    timeoutMs,
  );
}

/** Waits until the run's progress reports stage `stage` (or one after it in `order`). */
export function waitStage(lp: LightpathClient, runId: string, stages: string[], timeoutMs: number): Promise<Progress> {
  return waitUntil(
    `${runId} reaching stage ${stages.join('/')}`,
    async () => {
      const p = await progress(lp, runId);
      return p && stages.includes(p.stage) ? p : undefined;
    },
    timeoutMs,
    100,
  );
}
