/**
 * OpenBLAS's development files for the native BLAS addon, provisioned the way the
 * dataset is: where they are missing and this is a root shell with apt, Debian's
 * `libopenblas-dev` is installed (after an `apt-get update` if the first try finds
 * no package list). Never throws: it returns one line saying what it found, did, or
 * why it skipped.
 */
import { spawnSync } from 'node:child_process';
import { onPath } from './on-path.js';

/** Whether pkg-config or dpkg knows an installed OpenBLAS development package. */
function openblasDevInstalled(): boolean {
  if (spawnSync('pkg-config', ['--exists', 'openblas']).status === 0) return true;
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Status}', 'libopenblas-dev'], { encoding: 'utf8' });
  return /install ok installed/.test(r.stdout ?? '');
}

function aptInstall(): boolean {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '-q', 'libopenblas-dev'], { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;
  if (install()) return true;
  return spawnSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0 && install();
}

/** Installs libopenblas-dev where it is missing and apt is usable as root; one line saying what happened. */
export function ensureOpenBlasDev(): string {
  if (process.env.LIGHTPATH_NATIVE === '0') return 'openblas: not needed (LIGHTPATH_NATIVE=0)';
  if (openblasDevInstalled()) return 'openblas: development files installed';
  if (!onPath('apt-get') || !onPath('dpkg-query')) return 'openblas: skipped, apt is unavailable (install OpenBLAS with its headers, e.g. libopenblas-dev, for the native provider)';
  if (process.getuid?.() !== 0) return 'openblas: skipped, not root (as root: apt-get install libopenblas-dev)';
  return aptInstall() && openblasDevInstalled() ? 'openblas: libopenblas-dev installed now' : 'openblas: skipped, apt-get install libopenblas-dev failed (see its output above)';
}
