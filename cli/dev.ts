/**
 * Embedded mode (`npm start` = `lightpath dev`): provisions the services, starts a
 * Temporal dev server (SQLite under `.lightpath/`, Web UI on), uses the local
 * artifact store (or S3 when `LIGHTPATH_STORE`/`LIGHTPATH_S3_BUCKET` is set), runs
 * the workers in-process and the demo pipeline, then prints where everything is.
 * Its gpu worker trains on a GPU when one is found and otherwise falls back to
 * the CPU (wasm), saying so, so that dev works out of the box on any machine.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFashionMnist, ensureTemporal } from '../scripts/provision.js';
import { buildNativeBlas, describeNativeBuild } from '../scripts/build-native.js';
import { ensureNativeLibraries } from '../scripts/openblas.js';
import { startTemporal } from './dev-services.js';
import { connect } from '../client/connect.js';
import { followRun, summaryLines } from './progress.js';
import { connectWorker, createWorkers, runWorkers } from '../workers/create.js';
import { selectGpuWorkerBackend } from '../ml/backend/gpu-worker.js';
import { backendLabel } from '../ml/backend/select.js';
import { configuredStoreUri, lightpathHome } from '../storage/open.js';

/** The demo pipeline: MLP 784-256-128-10, Sinusoidal init, AdamW, 5 epochs on Fashion-MNIST. */
export const DEMO_CONFIG = { name: 'demo', train: { epochs: 5 } };

/** Options of `lightpath dev`. */
export interface DevOptions {
  /** Pipeline config (raw); default: the demo (MLP 784-256-128-10, 5 epochs). */
  config?: unknown;
  /** Keep the server and worker running after the demo (Ctrl-C to stop). */
  keep?: boolean;
}

/** Runs the embedded demo end to end. */
export async function runDev(opts: DevOptions = {}): Promise<void> {
  const started = Date.now();
  const say = (s: string) => process.stdout.write(`${s}\n`);
  // The Temporal CLI downloads in a child process while apt and the C compiler work here.
  const temporal = ensureTemporal();
  temporal.catch(() => undefined);
  await ensureFashionMnist();
  ensureNativeLibraries();
  say(describeNativeBuild(buildNativeBlas()));
  await temporal;
  const home = lightpathHome();
  mkdirSync(home, { recursive: true });
  const server = await startTemporal({ dbFile: join(home, 'temporal.db'), ui: true });
  say(`Temporal dev server at ${server.address}; Web UI ${server.uiUrl}`);
  const ac = new AbortController();
  let workersDone: Promise<void> | null = null;
  let connection: Awaited<ReturnType<typeof connectWorker>> | null = null;
  try {
    connection = await connectWorker({ address: server.address });
    const workers = await createWorkers({ connection, roles: ['cpu', 'gpu'], gpu: { allowCpu: true } });
    const gpu = await selectGpuWorkerBackend();
    const onGpu = gpu.name === 'tensorflow-gpu' || gpu.name === 'webgpu';
    say(`training on ${backendLabel(gpu)}${onGpu ? '' : ' (no GPU found, dev falls back to the CPU; `lightpath doctor` says why)'}`);
    workersDone = runWorkers(workers, ac.signal);
    const lp = await connect({ address: server.address });
    try {
      const store = configuredStoreUri();
      const { runId } = await lp.startPipeline(opts.config ?? DEMO_CONFIG, { store });
      say(`run ${runId} started; artifacts in ${store}`);
      const r = await followRun(lp, runId);
      say('');
      say(`run id:         ${r.runId}`);
      say(`backend:        ${r.backend}`);
      say(`test accuracy:  ${(r.testAccuracy * 100).toFixed(2)} %`);
      say(`artifacts:      ${store}`);
      say(`manifest:       ${r.manifest}`);
      say(`model:          ${r.model.model.uri}`);
      say(`Temporal UI:    ${server.uiUrl}/namespaces/default/workflows/${r.runId}`);
      say(`wall time:      ${((Date.now() - started) / 1000).toFixed(1)} s`);
      if (r.search || r.glai) summaryLines(r).slice(1).forEach(say);
      if (opts.keep) {
        say('server and worker keep running; Ctrl-C to stop');
        await new Promise<void>((res) => process.once('SIGINT', () => res()));
      }
    } finally {
      await lp.close();
    }
  } finally {
    ac.abort();
    await workersDone?.catch(() => undefined);
    await connection?.close();
    await server.stop();
  }
}
