/**
 * GPU workers: without a hardware GPU a `lightpath worker --role gpu` refuses to
 * start and says what it tried and which flag allows a fallback; with
 * `--allow-software-gpu` it trains on the webgpu backend on the software Vulkan
 * adapter (lavapipe, installed by scripts/provision.ts), the run records the
 * adapter, and its accuracy matches the same run on the CPU path (`--allow-cpu`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { useStack } from '../helpers/services.js';
import { storeForUri } from '../../storage/open.js';
import { listGpuAdapters } from '../../ml/backend/webgpu.js';
import type { RunManifest } from '../../storage/manifest.js';
import type { PipelineResult } from '../../contracts/types.js';

const stack = useStack(['cpu']);
const adapters = await listGpuAdapters().catch(() => []);
const hardware = adapters.some((a) => !a.software);
const software = adapters.some((a) => a.software);

const CONFIG = {
  name: 'gpu-check',
  data: { source: 'synthetic', validationSize: 300 },
  model: { hidden: [24, 12] },
  train: { epochs: 2, batchSize: 50, learningRate: 0.01 },
  seed: 7,
};

/** `lightpath worker --role gpu <flags>` with its stderr collected; the environment forces no backend or fallback. */
function gpuWorker(flags: string[]): { child: ChildProcess; stderr: () => string } {
  const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: stack.svc.temporal.address };
  for (const k of ['LIGHTPATH_BACKEND', 'LIGHTPATH_ALLOW_CPU', 'LIGHTPATH_ALLOW_SOFTWARE_GPU', 'LIGHTPATH_GPU_ADAPTER']) delete env[k];
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'worker', '--role', 'gpu', ...flags], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return { child, stderr: () => err };
}

/** Resolves once the worker polls (its stderr says so), rejects if it exits first. */
function polling(w: ReturnType<typeof gpuWorker>): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => w.stderr().includes('polling') && resolve(w.stderr());
    w.child.stderr!.on('data', check);
    w.child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${w.stderr()}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

async function run(): Promise<{ result: PipelineResult; manifest: RunManifest }> {
  const { runId, handle } = await stack.lp.startPipeline(CONFIG, { store: stack.svc.store });
  const result = await handle.result();
  const bytes = await storeForUri(result.manifest).getNamed(`lightpath/runs/${runId}/manifest.json`);
  return { result, manifest: JSON.parse(new TextDecoder().decode(bytes!)) as RunManifest };
}

test('a gpu worker without a hardware GPU refuses to start, naming what it tried and the fallback flags', { skip: hardware && 'this machine has a hardware GPU' }, async () => {
  const w = gpuWorker([]);
  const code = await new Promise<number | null>((r) => w.child.once('exit', r));
  assert.notEqual(code, 0);
  const err = w.stderr();
  assert.match(err, /no GPU backend/);
  assert.match(err, /tensorflow-gpu: /);
  assert.match(err, /webgpu: /);
  assert.match(err, /--allow-software-gpu/);
  assert.match(err, /--allow-cpu/);
  const cpu = gpuWorker(['--allow-cpu']);
  assert.match(await polling(cpu), /gpu worker: backend wasm/);
  await stop(cpu.child);
});

test(
  'trainPipeline on a gpu worker on the software Vulkan adapter (webgpu) records the adapter and matches the CPU run',
  { skip: !software && 'no software Vulkan adapter (npm run provision installs lavapipe as root)' },
  async (t) => {
    const gpu = gpuWorker(['--allow-software-gpu']);
    assert.match(await polling(gpu), /gpu worker: backend webgpu \(.*software\)/);
    const onGpu = await run();
    await stop(gpu.child);
    assert.match(onGpu.result.backend, /^webgpu \(.+; software\)$/);
    const adapter = adapters.find((a) => a.software)!;
    assert.ok(onGpu.result.backend.includes(adapter.description), onGpu.result.backend);
    assert.equal(onGpu.manifest.backend, onGpu.result.backend);
    assert.equal(onGpu.manifest.status, 'completed');

    const cpu = gpuWorker(['--allow-cpu']);
    await polling(cpu);
    const onCpu = await run();
    await stop(cpu.child);
    assert.match(onCpu.result.backend, /^wasm/);
    t.diagnostic(`test accuracy: webgpu ${onGpu.result.testAccuracy.toFixed(4)}, ${onCpu.result.backend} ${onCpu.result.testAccuracy.toFixed(4)}`);
    assert.ok(Math.abs(onGpu.result.testAccuracy - onCpu.result.testAccuracy) <= 0.02, `webgpu ${onGpu.result.testAccuracy} vs cpu ${onCpu.result.testAccuracy}`);
    onGpu.result.history.forEach((h, i) =>
      assert.ok(Math.abs(h.loss - onCpu.result.history[i]!.loss) <= 1e-3 * Math.abs(h.loss) + 1e-4, `epoch ${h.epoch} loss ${h.loss} vs ${onCpu.result.history[i]!.loss}`),
    );
  },
);

test('lightpath doctor --json lists the backends, the WebGPU adapters and Temporal', async () => {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'doctor', '--json'], {
      env: { ...process.env, TEMPORAL_ADDRESS: stack.svc.temporal.address },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let text = '';
    child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`doctor exited with ${code}`))));
  });
  const report = JSON.parse(out) as { backends: { webgpu: { adapters: { name: string; software: boolean }[] }; wasm: { ok: boolean }; gpuWorker: string }; temporal: { ok: boolean } };
  assert.deepEqual(
    report.backends.webgpu.adapters.map((a) => a.name),
    adapters.map((a) => a.name),
  );
  assert.equal(report.backends.wasm.ok, true);
  assert.equal(report.temporal.ok, true);
  assert.match(report.backends.gpuWorker, hardware ? /^(tensorflow-gpu|webgpu)/ : /refuses to start/);
});
