/**
 * The native BLAS provider's OpenBLAS core choice (ml/backend/native/core.ts) and
 * thread policy (threads.ts): CPU features to core names, OpenBLAS's own choice
 * kept unless it is below the CPU's instruction set, a user's OPENBLAS_CORETYPE
 * respected, a failing or crashing core falling back, the verdict cached, the
 * self-test catching a wrong product, the cores shared among trainings, and
 * products giving the same bits on any thread count. Where the addon can be built
 * the real child-process probe and the thread-count check run too.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  betterCore,
  childProbe,
  decideCore,
  featureCore,
  parseCpuInfo,
  prepareBlasCore,
  resetBlasCoreChoice,
  selfTest,
  type CpuInfo,
  type Probe,
  type ProbeResult,
} from '../../ml/backend/native/core.js';
import { addonPath, nativeBlas, type NativeBlas } from '../../ml/backend/native/addon.js';
import { onThreadsChange, threadsFor, threadsOverride, trainingStarted } from '../../ml/backend/native/threads.js';
import { buildNativeBlas } from '../../scripts/build-native.js';

const AVX512 = 'fpu sse sse2 ssse3 sse4_1 sse4_2 avx fma avx2 avx512f avx512dq avx512cd avx512bw avx512vl';
const cpu = (flags: string, vendor = 'GenuineIntel'): CpuInfo =>
  parseCpuInfo(`processor\t: 0\nvendor_id\t: ${vendor}\nmodel name\t: Test CPU\nflags\t\t: ${flags}\n\nprocessor\t: 1\nflags\t\t: sse\n`);

/** Row-major op(a)·op(b) in JavaScript, with an optional fault. */
function jsSgemm(fault: 'none' | 'drop-last-k' | 'nan' = 'none'): Pick<NativeBlas, 'sgemm'> {
  return {
    sgemm(ta, tb, m, n, k, a, b, c) {
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < (fault === 'drop-last-k' && k > 1 ? k - 1 : k); p++) s += a[ta ? p * m + i : i * k + p]! * b[tb ? j * k + p : p * n + j]!;
          c[i * n + j] = fault === 'nan' && i === m - 1 ? Number.NaN : s;
        }
    },
  };
}

const ok = (corename: string): ProbeResult => ({ corename, config: `OpenBLAS 0.3.21 DYNAMIC_ARCH ${corename}`, ok: true, worst: 1e-8 });

/** A probe answering from a table by requested core ('' = none), counting its calls. */
function fakeProbe(answers: Record<string, ProbeResult | { error: string }>): Probe & { calls: (string | null)[] } {
  const calls: (string | null)[] = [];
  const probe = ((core: string | null) => {
    calls.push(core);
    return answers[core ?? ''] ?? { error: 'not expected' };
  }) as Probe & { calls: (string | null)[] };
  probe.calls = calls;
  return probe;
}

test('CPU features give the core: AVX-512 F/BW/DQ/VL → SkylakeX, AVX2+FMA → Haswell (Zen on AMD and Hygon), older → none', () => {
  const c = cpu(AVX512);
  assert.equal(c.model, 'Test CPU');
  assert.equal(c.vendor, 'GenuineIntel');
  assert.equal(featureCore(c), 'SkylakeX');
  assert.equal(featureCore(cpu('sse avx fma avx2 avx512f')), 'Haswell', 'AVX-512F alone is not enough');
  assert.equal(featureCore(cpu('sse avx fma avx2')), 'Haswell');
  assert.equal(featureCore(cpu('sse avx fma avx2', 'AuthenticAMD')), 'Zen');
  assert.equal(featureCore(cpu('sse avx fma avx2', 'HygonGenuine')), 'Zen');
  assert.equal(featureCore(cpu('sse sse2 avx')), null);
  assert.equal(featureCore(parseCpuInfo('')), null);
});

test("OpenBLAS's own core is kept unless its instruction set is below the CPU's", () => {
  assert.equal(betterCore('Prescott', cpu(AVX512)), 'SkylakeX');
  assert.equal(betterCore('Nehalem', cpu('sse avx fma avx2')), 'Haswell');
  assert.equal(betterCore('Haswell', cpu(AVX512)), 'SkylakeX');
  assert.equal(betterCore('Cooperlake', cpu(AVX512)), null);
  assert.equal(betterCore('SkylakeX', cpu(AVX512)), null);
  assert.equal(betterCore('Zen', cpu('sse avx fma avx2', 'AuthenticAMD')), null);
  assert.equal(betterCore('Prescott', cpu('sse sse2 sse3')), null);
  assert.equal(betterCore('SomeNewerCore', cpu(AVX512)), null, 'a name this table does not know is left alone');
});

test('decideCore: a generic detection is replaced by the core that loads and passes; a crash, a wrong product or another core falls back', () => {
  const good = fakeProbe({ '': ok('Prescott'), SkylakeX: ok('SkylakeX') });
  assert.deepEqual(decideCore(cpu(AVX512), good), {
    core: 'SkylakeX',
    how: 'cpu-features',
    detail: "OpenBLAS detected Prescott; the CPU's features call for SkylakeX, which passed the self-test",
  });
  assert.deepEqual(good.calls, [null, 'SkylakeX']);

  const kept = fakeProbe({ '': ok('Cooperlake') });
  assert.deepEqual(decideCore(cpu(AVX512), kept), { core: null, how: 'openblas', detail: 'OpenBLAS detected Cooperlake' });
  assert.deepEqual(kept.calls, [null], 'no second probe when the detection is good');

  const crash = decideCore(cpu(AVX512), fakeProbe({ '': ok('Prescott'), SkylakeX: { error: 'killed by SIGILL' } }));
  assert.equal(crash.core, null);
  assert.equal(crash.how, 'fallback');
  assert.match(crash.detail, /SkylakeX failed \(killed by SIGILL\); OpenBLAS's own Prescott/);

  const wrong = decideCore(cpu(AVX512), fakeProbe({ '': ok('Prescott'), SkylakeX: { ...ok('SkylakeX'), ok: false, worst: 0.7 } }));
  assert.equal(wrong.how, 'fallback');
  assert.match(wrong.detail, /self-test error 7\.0e-1/);

  const other = decideCore(cpu(AVX512), fakeProbe({ '': ok('Prescott'), SkylakeX: ok('Haswell') }));
  assert.equal(other.how, 'fallback');
  assert.match(other.detail, /loaded Haswell instead/);

  const noProbe = decideCore(cpu(AVX512), fakeProbe({ '': { error: 'exit 1: cannot open shared object file' } }));
  assert.deepEqual([noProbe.core, noProbe.how], [null, 'openblas']);
});

test('the self-test passes a correct product and catches a wrong or NaN one', () => {
  assert.equal(selfTest(jsSgemm()).ok, true);
  assert.ok(selfTest(jsSgemm()).worst < 1e-6);
  assert.equal(selfTest(jsSgemm('drop-last-k')).ok, false);
  const nan = selfTest(jsSgemm('nan'));
  assert.equal(nan.ok, false);
  assert.equal(nan.worst, Infinity);
});

const saved = { OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE, LIGHTPATH_BLAS_CORE: process.env.LIGHTPATH_BLAS_CORE };
const restore = () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  resetBlasCoreChoice();
};
const scratch = mkdtempSync(join(tmpdir(), 'lightpath-core-'));
after(() => {
  restore();
  rmSync(scratch, { recursive: true, force: true });
});

test("prepareBlasCore: a user's OPENBLAS_CORETYPE is respected without a probe", () => {
  restore();
  delete process.env.LIGHTPATH_BLAS_CORE;
  process.env.OPENBLAS_CORETYPE = 'Prescott';
  const probe = fakeProbe({});
  const choice = prepareBlasCore(join(scratch, 'user.node'), probe, cpu(AVX512));
  assert.deepEqual(choice, { core: 'Prescott', how: 'environment', detail: 'OPENBLAS_CORETYPE=Prescott set in the environment' });
  assert.deepEqual(probe.calls, []);
  assert.equal(process.env.OPENBLAS_CORETYPE, 'Prescott');
  restore();
});

test('prepareBlasCore: sets OPENBLAS_CORETYPE before the load, caches the verdict per CPU and addon, and tells child processes how', () => {
  restore();
  delete process.env.OPENBLAS_CORETYPE;
  delete process.env.LIGHTPATH_BLAS_CORE;
  const addon = join(scratch, 'blas-test.node');
  const first = fakeProbe({ '': ok('Prescott'), SkylakeX: ok('SkylakeX') });
  assert.equal(prepareBlasCore(addon, first, cpu(AVX512)).core, 'SkylakeX');
  assert.equal(process.env.OPENBLAS_CORETYPE, 'SkylakeX');
  assert.equal(first.calls.length, 2);
  assert.equal(JSON.parse(process.env.LIGHTPATH_BLAS_CORE!).how, 'cpu-features');

  // The same process again, and a child that inherits the environment: no probe, the same answer.
  assert.equal(prepareBlasCore(addon, fakeProbe({}), cpu(AVX512)).how, 'cpu-features');
  resetBlasCoreChoice();
  assert.equal(prepareBlasCore(addon, fakeProbe({}), cpu(AVX512)).how, 'cpu-features', 'an inherited choice is not taken for a user setting');

  // A fresh process (nothing inherited): the cached verdict, no probe.
  delete process.env.OPENBLAS_CORETYPE;
  delete process.env.LIGHTPATH_BLAS_CORE;
  resetBlasCoreChoice();
  const cached = fakeProbe({});
  assert.equal(prepareBlasCore(addon, cached, cpu(AVX512)).core, 'SkylakeX');
  assert.deepEqual(cached.calls, []);

  // Another CPU: probed again, and a fallback leaves OPENBLAS_CORETYPE unset.
  delete process.env.OPENBLAS_CORETYPE;
  delete process.env.LIGHTPATH_BLAS_CORE;
  resetBlasCoreChoice();
  const other = fakeProbe({ '': ok('Prescott'), Haswell: { error: 'killed by SIGSEGV' } });
  assert.equal(prepareBlasCore(addon, other, cpu('sse avx fma avx2')).how, 'fallback');
  assert.equal(other.calls.length, 2);
  assert.equal(process.env.OPENBLAS_CORETYPE, undefined);
  restore();
});

test('threads: all cores for a lone training, an even share for several, LIGHTPATH_BLAS_THREADS over both', () => {
  assert.equal(threadsFor(0, 2), 2);
  assert.equal(threadsFor(1, 2), 2);
  assert.equal(threadsFor(2, 2), 1);
  assert.equal(threadsFor(3, 2), 1);
  assert.equal(threadsFor(3, 16), 5);
  assert.equal(threadsFor(1, 16, 3), 3);
  assert.equal(threadsOverride(undefined), undefined);
  assert.equal(threadsOverride(''), undefined);
  assert.equal(threadsOverride('4'), 4);
  assert.throws(() => threadsOverride('0'), /LIGHTPATH_BLAS_THREADS=0 is not a positive integer/);
  assert.throws(() => threadsOverride('two'), /not a positive integer/);
});

test('threads follow trainings as they start and end', () => {
  const saved = process.env.LIGHTPATH_BLAS_THREADS;
  delete process.env.LIGHTPATH_BLAS_THREADS;
  const seen: number[] = [];
  const stop = onThreadsChange((n) => seen.push(n));
  try {
    const cores = seen[0]!;
    const a = trainingStarted();
    const b = trainingStarted();
    b();
    b();
    a();
    assert.deepEqual(seen, [cores, cores, Math.max(1, Math.floor(cores / 2)), cores, cores]);
  } finally {
    stop();
    if (saved !== undefined) process.env.LIGHTPATH_BLAS_THREADS = saved;
  }
});

const built =
  process.env.LIGHTPATH_NATIVE === '0'
    ? null
    : (() => {
        const b = buildNativeBlas();
        return 'built' in b ? b.built : null;
      })();

test(
  'the real probe: OpenBLAS loads in a child process, reports its core and passes the self-test; a forced core is the one loaded',
  { skip: built ? false : 'the native addon is not built here' },
  () => {
    const probe = childProbe(built!);
    const own = probe(null);
    assert.ok(!('error' in own), 'error' in own ? own.error : '');
    assert.equal(own.ok, true, `self-test error ${own.worst}`);
    assert.match(own.config, /OpenBLAS/);
    const forced = probe('Prescott');
    assert.ok(!('error' in forced) && forced.corename === 'Prescott' && forced.ok);
  },
);

test(
  'products give the same bits on 1, 2 and 3 threads (MLP and CNN shapes, every transpose), on the core chosen here',
  { skip: built && existsSync(addonPath()) ? false : 'the native addon is not built here' },
  () => {
    restore();
    const status = nativeBlas();
    assert.ok(status.active, status.detail);
    const blas = status.blas;
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5;
    const shapes: [number, number, number, boolean, boolean][] = [
      [128, 512, 784, false, false],
      [784, 512, 128, true, false],
      [128, 784, 512, false, true],
      [512, 512, 128, true, true],
      [6272, 64, 288, false, false],
      [288, 64, 6272, true, false],
      [300, 1030, 40, false, false],
    ];
    const before = blas.info().threads;
    try {
      for (const [m, n, k, ta, tb] of shapes) {
        const a = Float32Array.from({ length: m * k }, next);
        const b = Float32Array.from({ length: k * n }, next);
        const out = [1, 2, 3].map((t) => {
          blas.setThreads(t);
          const c = new Float32Array(m * n);
          blas.sgemm(ta, tb, m, n, k, a, b, c, new Int32Array([0]), new Int32Array([0]));
          return Buffer.from(c.buffer);
        });
        assert.ok(out[0]!.equals(out[1]!) && out[0]!.equals(out[2]!), `${m}×${n}×${k} ta=${ta} tb=${tb} differs between thread counts`);
      }
    } finally {
      blas.setThreads(before);
    }
  },
);
