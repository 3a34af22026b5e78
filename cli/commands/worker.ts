/** `lightpath worker`: a worker process (cpu, gpu, all, or a federated site). */
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../../contracts/errors.js';
import { runWorkerProcess } from '../../workers/main.js';
import { GpuUnavailableError } from '../../ml/backend/gpu-worker.js';
import { EXIT, fail, positiveInt } from '../shared.js';

interface WorkerFlags {
  role: string;
  slots: number;
  data?: string;
  allowCpu?: boolean;
  allowSoftwareGpu?: boolean;
  gpu?: number;
}

/** A gpu worker's refusal in full (what was tried, what is missing, which flag allows a fallback), else `fail`. */
function failWorker(e: unknown): never {
  if (!(e instanceof GpuUnavailableError)) fail(e);
  process.stderr.write(`error: ${e.message}\n`);
  process.exit(EXIT.failedRun);
}

/** Adds `worker` to the program. */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker against the configured cluster (TEMPORAL_ADDRESS)')
    .option(
      '--role <role>',
      'cpu (workflows + light activities), gpu (training), all, or site:<name> (a federated site)',
      (v) => {
        if (!['cpu', 'gpu', 'all'].includes(v) && !/^site:[A-Za-z0-9_-]{1,64}$/.test(v)) throw new InvalidArgumentError('expected cpu, gpu, all or site:<name> (letters, digits, - and _)');
        return v;
      },
      'all',
    )
    .option('--data <source>', "a site's own data: fashion-mnist, synthetic, an IDX folder or an image-set bundle file, optionally #k/n for a shard; it never leaves the site")
    .option('--slots <n>', 'training activities at once on this worker (one per GPU; on CPU each uses one core)', positiveInt, 1)
    .option('--gpu <n>', "gpu worker: Dawn's WebGPU adapter index to use, one worker per GPU (LIGHTPATH_GPU_ADAPTER); `lightpath doctor` lists them", (v) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected an adapter index (0, 1, …)');
      return Number(v);
    })
    .option('--allow-software-gpu', 'gpu worker: train on a software Vulkan adapter (lavapipe) when no hardware GPU is found (LIGHTPATH_ALLOW_SOFTWARE_GPU=1)')
    .option('--allow-cpu', 'gpu worker: train on the CPU (wasm) when no GPU backend loads, instead of refusing to start (LIGHTPATH_ALLOW_CPU=1)')
    .action(async (o: WorkerFlags) => {
      const site = /^site:(.+)$/.exec(o.role)?.[1];
      if (site && !o.data) fail(new ConfigError('--data: a site worker needs its data source', []));
      if (!site && o.data) fail(new ConfigError('--data: only a site worker (--role site:<name>) reads its own data', []));
      const roles = site ? [] : o.role === 'all' ? (['cpu', 'gpu'] as const) : [o.role as 'cpu' | 'gpu'];
      const gpu = { allowCpu: o.allowCpu, allowSoftwareGpu: o.allowSoftwareGpu, adapter: o.gpu };
      await runWorkerProcess([...roles], o.slots, site ? [{ name: site, source: o.data! }] : [], gpu).catch(failWorker);
    });
}
