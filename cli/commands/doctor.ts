/** `lightpath doctor`: what each backend found on this machine, Temporal's reachability and the configured store. */
import type { Command } from 'commander';
import { probeBackends, type BackendProbe, type LoadProbe } from '../../ml/backend/probe.js';
import { configuredStoreUri } from '../../storage/open.js';
import { temporalSettings } from '../../client/temporal-config.js';
import { connect } from '../../client/connect.js';

const TEMPORAL_TIMEOUT_MS = 5000;

/** Whether Temporal answers within a few seconds, and where it was looked for. */
async function temporalProbe(): Promise<LoadProbe & { address: string }> {
  const { address } = temporalSettings();
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${TEMPORAL_TIMEOUT_MS / 1000} s`)), TEMPORAL_TIMEOUT_MS).unref());
  try {
    const lp = await Promise.race([connect(), timeout]);
    await lp.close();
    return { ok: true, address, detail: 'reachable' };
  } catch (e) {
    return { ok: false, address, detail: (e as Error).message.split('\n')[0]! };
  }
}

function lines(p: BackendProbe, temporal: LoadProbe & { address: string }, store: string): string[] {
  const mark = (l: LoadProbe) => (l.ok ? 'ok  ' : 'no  ');
  return [
    `${mark(p.tensorflowGpu)}tensorflow-gpu  ${p.tensorflowGpu.detail}`,
    `${mark(p.tensorflow)}tensorflow      ${p.tensorflow.detail}`,
    `${mark(p.webgpu)}webgpu          ${p.webgpu.detail}`,
    ...p.webgpu.adapters.map(
      (a) =>
        `      #${a.index} ${a.name} [${a.api}] vendor ${a.vendor || '?'}, architecture ${a.architecture || '?'}, device ${a.device || '?'}, driver ${a.description || '?'}${a.software ? ' — software' : ''}`,
    ),
    `${mark(p.wasm)}wasm            ${p.wasm.detail}`,
    `${mark(p.native)}native BLAS     ${p.native.detail}`,
    ...(p.native.core ? [`      OpenBLAS core ${p.native.core.name}, chosen by ${p.native.core.how}: ${p.native.core.detail}`] : []),
    `gpu worker: ${p.gpuWorker}`,
    `temporal:   ${temporal.address} ${temporal.detail}`,
    `store:      ${store}`,
  ];
}

/** Adds `doctor` to the program. */
export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('what each TF.js backend finds here (and why one is unavailable), the WebGPU adapters, Temporal and the store')
    .option('--json', 'one JSON document')
    .action(async (o: { json?: boolean }) => {
      const [backends, temporal] = await Promise.all([probeBackends(), temporalProbe()]);
      const store = configuredStoreUri();
      process.stdout.write(o.json ? `${JSON.stringify({ backends, temporal, store }, null, 2)}\n` : `${lines(backends, temporal, store).join('\n')}\n`);
      process.exit(0);
    });
}
