/**
 * Which OpenBLAS kernels ("core type") the native BLAS addon runs on.
 *
 * OpenBLAS builds with DYNAMIC_ARCH (Debian's) pick their kernels from the CPU
 * model when the library initialises, and where a build does not know the model
 * they fall back to a generic core: Debian bookworm's 0.3.21 runs the SSE3
 * "Prescott" kernels on recent Xeons with AVX-512, several times slower than the
 * "SkylakeX" ones. OpenBLAS reads `OPENBLAS_CORETYPE` once, when it is loaded
 * (at the dlopen of the addon, which links it), so the choice is made here, in
 * the process's main thread, before anything loads the addon: a worker thread's
 * `process.env` is its own copy and never reaches the C environment.
 *
 * How the core is chosen (`prepareBlasCore`):
 * 1. `OPENBLAS_CORETYPE` set in the environment (non-empty) is respected as it is
 *    (on some machines it is set on purpose: older OpenBLAS builds compute wrong
 *    results or crash on some processors).
 * 2. Otherwise a short child process loads the addon and reports the core OpenBLAS
 *    detects. Where that core's instruction set is below what the CPU offers
 *    (/proc/cpuinfo: AVX-512 F/BW/DQ/VL → SkylakeX; AVX2 and FMA → Haswell, Zen on
 *    AMD and Hygon), a second child loads it with the better core and runs
 *    `selfTest`; only if it loads that core and passes is it used. A crash or a
 *    wrong product leaves OpenBLAS's own choice ("fallback").
 * 3. The verdict is cached in the cache folder, keyed by CPU model, flags and
 *    addon build, so the child processes run once per machine and build.
 * `nativeBlas()` runs `selfTest` again in the process at load and turns the
 * provider off if it fails.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import type { NativeBlas } from './addon.js';

/** How the core in use was chosen. */
export type CoreHow = 'environment' | 'openblas' | 'cpu-features' | 'fallback';

/** The core type lightpath asked OpenBLAS for (null: none, OpenBLAS detects it), how, and why in one line. */
export interface BlasCoreChoice {
  core: string | null;
  how: CoreHow;
  detail: string;
}

/** What /proc/cpuinfo says about the first CPU. */
export interface CpuInfo {
  vendor: string;
  model: string;
  flags: Set<string>;
}

/** Parses the first processor of a /proc/cpuinfo text (x86 field names). */
export function parseCpuInfo(text: string): CpuInfo {
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  return { vendor: field('vendor_id'), model: field('model name'), flags: new Set(field('flags').split(/\s+/).filter(Boolean)) };
}

/** This machine's CPU, or null where /proc/cpuinfo cannot be read. */
export function readCpuInfo(): CpuInfo | null {
  try {
    return parseCpuInfo(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Instruction-set level of each OpenBLAS x86-64 core name (0.3.21's list; lower
 * case): 0 SSE, 1 AVX, 2 AVX2/FMA, 3 AVX-512. Names not listed (a newer OpenBLAS's)
 * count as current and are never overridden.
 */
const CORE_LEVEL: Record<string, number> = {
  ...Object.fromEntries(
    ['katmai', 'coppermine', 'northwood', 'prescott', 'banias', 'atom', 'core2', 'penryn', 'dunnington', 'nehalem', 'athlon', 'opteron', 'opteron_sse3', 'barcelona', 'nano', 'bobcat'].map((n) => [
      n,
      0,
    ]),
  ),
  ...Object.fromEntries(['sandybridge', 'bulldozer', 'piledriver', 'steamroller', 'excavator'].map((n) => [n, 1])),
  ...Object.fromEntries(['haswell', 'zen', 'dhyana'].map((n) => [n, 2])),
  ...Object.fromEntries(['skylakex', 'cooperlake', 'sapphirerapids'].map((n) => [n, 3])),
};

/** The core type the CPU's features call for, or null where they call for none better than SSE's. */
export function featureCore(cpu: CpuInfo): string | null {
  const has = (...f: string[]) => f.every((x) => cpu.flags.has(x));
  if (has('avx512f', 'avx512bw', 'avx512dq', 'avx512vl')) return 'SkylakeX';
  if (has('avx2', 'fma')) return cpu.vendor === 'AuthenticAMD' || cpu.vendor === 'HygonGenuine' ? 'Zen' : 'Haswell';
  return null;
}

/** The core to ask for instead of `detected` (what OpenBLAS chose on its own), or null to keep it. */
export function betterCore(detected: string, cpu: CpuInfo): string | null {
  const want = featureCore(cpu);
  const level = CORE_LEVEL[detected.toLowerCase()];
  if (!want || level === undefined) return null;
  return level < CORE_LEVEL[want.toLowerCase()]! ? want : null;
}

/** Shapes of the self-test: odd sizes, every transpose, and products large enough to be cut into blocks (parallel.c). */
const SELF_TEST: [number, number, number, boolean, boolean][] = [
  [3, 5, 7, false, false],
  [17, 33, 65, true, false],
  [64, 300, 96, false, true],
  [300, 40, 70, true, true],
  [128, 520, 37, false, false],
];

/**
 * Checks the addon's sgemm against a float64 loop in JavaScript on a few
 * products; returns the worst error relative to Σ|a·b| per element. A correct
 * sgemm stays near 1e-7; wrong kernels give errors of order 1.
 */
export function selfTest(blas: Pick<NativeBlas, 'sgemm'>): { ok: boolean; worst: number } {
  let worst = 0;
  let seed = 12345;
  const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  for (const [m, n, k, ta, tb] of SELF_TEST) {
    const a = Float32Array.from({ length: m * k }, next);
    const b = Float32Array.from({ length: k * n }, next);
    const c = new Float32Array(m * n).fill(Number.NaN);
    blas.sgemm(ta, tb, m, n, k, a, b, c, new Int32Array([0]), new Int32Array([0]));
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        let scale = 0;
        for (let p = 0; p < k; p++) {
          const x = a[ta ? p * m + i : i * k + p]! * b[tb ? j * k + p : p * n + j]!;
          sum += x;
          scale += Math.abs(x);
        }
        const err = Math.abs(c[i * n + j]! - sum) / (scale || 1);
        worst = Number.isNaN(err) ? Infinity : Math.max(worst, err);
      }
    }
  }
  return { ok: worst <= 1e-5, worst };
}

/** What a probe child reports: the core and build it loaded, and its self-test. */
export interface ProbeResult {
  corename: string;
  config: string;
  ok: boolean;
  worst: number;
}

/** Loads the addon in a child process with `OPENBLAS_CORETYPE=core` (unset when null); a crash or a hang gives its reason. */
export type Probe = (core: string | null) => ProbeResult | { error: string };

/** The real probe: core-probe.ts (or .js in a build) in a child Node process. */
export function childProbe(addon: string): Probe {
  return (core) => {
    const fromSource = import.meta.url.endsWith('.ts');
    const entry = fileURLToPath(new URL(`./core-probe.${fromSource ? 'ts' : 'js'}`, import.meta.url));
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE;
    delete env.LIGHTPATH_BLAS_CORE;
    if (core) env.OPENBLAS_CORETYPE = core;
    const args = [...(fromSource ? ['--import', import.meta.resolve('tsx')] : []), entry, addon];
    const r = spawnSync(process.execPath, args, { env, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) return { error: r.signal ? `killed by ${r.signal}` : `exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').pop() ?? ''}` };
    try {
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as ProbeResult;
    } catch {
      return { error: `unreadable answer: ${r.stdout.slice(0, 200)}` };
    }
  };
}

/**
 * Decides the core for a CPU given a probe (pure apart from the probe): OpenBLAS's
 * own detection, unless the CPU offers a higher instruction set and the core for
 * it loads and passes the self-test.
 */
export function decideCore(cpu: CpuInfo, probe: Probe): BlasCoreChoice {
  const detected = probe(null);
  if ('error' in detected) return { core: null, how: 'openblas', detail: `OpenBLAS's own detection (the probe failed: ${detected.error})` };
  const want = betterCore(detected.corename, cpu);
  if (!want) return { core: null, how: 'openblas', detail: `OpenBLAS detected ${detected.corename}` };
  const tried = probe(want);
  const why =
    'error' in tried
      ? tried.error
      : tried.corename.toLowerCase() !== want.toLowerCase()
        ? `OpenBLAS loaded ${tried.corename} instead`
        : !tried.ok
          ? `self-test error ${tried.worst.toExponential(1)}`
          : null;
  if (why) return { core: null, how: 'fallback', detail: `${want} failed (${why}); OpenBLAS's own ${detected.corename}` };
  return { core: want, how: 'cpu-features', detail: `OpenBLAS detected ${detected.corename}; the CPU's features call for ${want}, which passed the self-test` };
}

/** Environment variable through which a main thread tells its worker threads and child processes what it chose. */
const MARK = 'LIGHTPATH_BLAS_CORE';

let prepared: BlasCoreChoice | null = null;

/**
 * Chooses the core and sets `OPENBLAS_CORETYPE` for this process, once, before
 * the addon at `addon` loads (see the top of this file). In a worker thread it
 * only reports what the main thread chose.
 */
export function prepareBlasCore(addon: string, probe: Probe = childProbe(addon), cpu: CpuInfo | null = readCpuInfo()): BlasCoreChoice {
  if (prepared) return prepared;
  const user = process.env.OPENBLAS_CORETYPE;
  const mark = (() => {
    try {
      return JSON.parse(process.env[MARK] ?? 'null') as BlasCoreChoice | null;
    } catch {
      return null;
    }
  })();
  if (mark && (mark.core ?? '') === (user ?? '')) return (prepared = mark);
  if (user) return (prepared = { core: user, how: 'environment', detail: `OPENBLAS_CORETYPE=${user} set in the environment` });
  if (!isMainThread) return (prepared = { core: null, how: 'openblas', detail: 'OpenBLAS detected it (the addon loaded first in a worker thread, where no core can be set)' });
  if (!cpu || process.arch !== 'x64') return (prepared = { core: null, how: 'openblas', detail: 'OpenBLAS detected it' });
  const key = createHash('sha256')
    .update(`${cpu.vendor}\n${cpu.model}\n${[...cpu.flags].sort().join(' ')}\n${basename(addon)}`)
    .digest('hex')
    .slice(0, 16);
  const cached = join(dirname(addon), `core-${key}.json`);
  let choice: BlasCoreChoice;
  if (existsSync(cached)) {
    choice = JSON.parse(readFileSync(cached, 'utf8')) as BlasCoreChoice;
  } else {
    choice = decideCore(cpu, probe);
    try {
      mkdirSync(dirname(cached), { recursive: true });
      writeFileSync(`${cached}.${process.pid}`, JSON.stringify({ ...choice, cpu: cpu.model }));
      renameSync(`${cached}.${process.pid}`, cached);
    } catch {
      // a read-only cache only costs the probe next time
    }
  }
  if (choice.core) process.env.OPENBLAS_CORETYPE = choice.core;
  else delete process.env.OPENBLAS_CORETYPE;
  process.env[MARK] = JSON.stringify(choice);
  return (prepared = choice);
}

/** Forgets the choice of this process (tests). */
export function resetBlasCoreChoice(): void {
  prepared = null;
}
