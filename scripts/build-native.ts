/**
 * Builds the optional native BLAS addon (ml/backend/native/*.c) into the cache
 * (`addonPath()`), idempotently: an existing build of the same source is kept.
 * It needs a C compiler (`$CC`, default `cc`), Node's headers (shipped with Node
 * in `<prefix>/include/node`) and OpenBLAS's development files (Debian:
 * `apt-get install libopenblas-dev`), and multiplies with oneDNN where its
 * development files are installed (Debian: libdnnl-dev); where one of the first three is missing, or
 * `LIGHTPATH_NATIVE=0`, it skips with a one-line reason and the wasm backend runs
 * without it. It never throws.
 *
 * Run directly (`node --import tsx scripts/build-native.ts`) it prints what it did.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ADDON_CFLAGS, ADDON_SOURCES, addonPath, oneDnnHeader } from '../ml/backend/native/addon.js';
import { childProbe, prepareBlasCore } from '../ml/backend/native/core.js';
import { onPath } from './on-path.js';

/** What `buildNativeBlas` did: the addon's path, or why there is none. */
export type NativeBuild = { built: string; fresh: boolean } | { skipped: string };

/** Node's C headers: `<prefix>/include/node` next to the running node binary. */
function nodeHeaders(): string | null {
  const dir = join(dirname(realpathSync(process.execPath)), '..', 'include', 'node');
  return existsSync(join(dir, 'node_api.h')) ? dir : null;
}

/** OpenBLAS's compile and link flags from pkg-config, else the plain library. */
function openblasFlags(): { cflags: string[]; libs: string[] } {
  const pc = (what: string) => spawnSync('pkg-config', [what, 'openblas'], { encoding: 'utf8' });
  const cflags = pc('--cflags');
  const libs = pc('--libs');
  if (cflags.status === 0 && libs.status === 0) return { cflags: cflags.stdout.trim().split(/\s+/).filter(Boolean), libs: libs.stdout.trim().split(/\s+/).filter(Boolean) };
  return { cflags: [], libs: ['-lopenblas'] };
}

/** The last meaningful line of a compiler's output. */
function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((l) => /error|cannot find|not found/i.test(l))
      .pop() ??
    text.trim().split('\n').pop() ??
    ''
  );
}

/** Chooses the OpenBLAS core for the build now (core.ts; cached per CPU and build), so the first training does not wait for it. */
function withCore(build: { built: string; fresh: boolean }): NativeBuild {
  prepareBlasCore(build.built);
  return build;
}

/** Compiles and checks the addon unless a build of the current source exists; never throws. */
export function buildNativeBlas(): NativeBuild {
  try {
    return build();
  } catch (e) {
    return { skipped: `building it failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

function build(): NativeBuild {
  if (process.env.LIGHTPATH_NATIVE === '0') return { skipped: 'disabled by LIGHTPATH_NATIVE=0' };
  const target = addonPath();
  if (existsSync(target)) return withCore({ built: target, fresh: false });
  const cc = onPath(process.env.CC ?? 'cc');
  if (!cc) return { skipped: `no C compiler (${process.env.CC ?? 'cc'}) on PATH` };
  const headers = nodeHeaders();
  if (!headers) return { skipped: `Node's headers (include/node/node_api.h) are not installed next to ${process.execPath}` };
  const { cflags, libs } = openblasFlags();
  const onednn = oneDnnHeader() ? { cflags: ['-DLP_DNNL'], libs: ['-ldnnl'] } : { cflags: [], libs: [] };
  mkdirSync(dirname(target), { recursive: true });
  const part = target.replace(/\.node$/, `.${process.pid}.part.node`);
  const args = [...ADDON_CFLAGS, `-I${headers}`, ...cflags, ...onednn.cflags, ...ADDON_SOURCES, ...libs, ...onednn.libs, '-o', part];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(part, { force: true });
    const why = lastLine(`${r.stderr}${r.stdout}`);
    const missing = /cblas\.h|-lopenblas|openblas_/.test(why);
    return { skipped: missing ? `OpenBLAS development files not found (Debian: apt-get install libopenblas-dev): ${why}` : `compiling ${dirname(ADDON_SOURCES[0]!)} failed: ${why}` };
  }
  // Loaded in a child process: loading OpenBLAS here would fix its core before nativeBlas() chooses one (core.ts).
  const loads = childProbe(part)(null);
  if ('error' in loads) {
    rmSync(part, { force: true });
    return { skipped: `the built addon does not load: ${loads.error}` };
  }
  renameSync(part, target);
  return withCore({ built: target, fresh: true });
}

/** One line saying what `build` did. */
export function describeNativeBuild(build: NativeBuild): string {
  if (!('built' in build)) return `native BLAS addon skipped: ${build.skipped}`;
  const core = prepareBlasCore(build.built);
  return `native BLAS addon: ${build.built}${build.fresh ? ' (built now)' : ''}; OpenBLAS core: ${core.core ?? "OpenBLAS's own choice"} (${core.detail})`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stderr.write(`[build-native] ${describeNativeBuild(buildNativeBlas())}\n`);
}
