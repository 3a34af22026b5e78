/**
 * The native BLAS addon's libraries, provisioned the way the dataset is: OpenBLAS's
 * development files (Debian's `libopenblas-dev`, which the addon needs) and oneDNN's
 * (`libdnnl-dev`, whose products the addon uses where it is installed: faster than
 * OpenBLAS 0.3.21's on the MLP's and CNN's training shapes). Where one is missing and
 * this is a root shell with apt, it is installed (after an `apt-get update` if the
 * first try finds no package list). Never throws: it returns one line saying what it
 * found, did, or why it skipped.
 */
import { spawnSync } from 'node:child_process';
import { oneDnnHeader } from '../ml/backend/native/addon.js';
import { onPath } from './on-path.js';
import { aptInstall } from './apt.js';

/** A library the addon uses: its Debian package and how to tell it is installed. */
interface NativeLibrary {
  name: string;
  pkg: string;
  installed: () => boolean;
}

const dpkgInstalled = (pkg: string) => /install ok installed/.test(spawnSync('dpkg-query', ['-W', '-f', '${Status}', pkg], { encoding: 'utf8' }).stdout ?? '');

const LIBRARIES: NativeLibrary[] = [
  { name: 'openblas', pkg: 'libopenblas-dev', installed: () => spawnSync('pkg-config', ['--exists', 'openblas']).status === 0 || dpkgInstalled('libopenblas-dev') },
  { name: 'onednn', pkg: 'libdnnl-dev', installed: () => oneDnnHeader() !== null },
];

/** The libraries to look after: OpenBLAS always, oneDNN unless `LIGHTPATH_ONEDNN=0`. */
function wanted(): NativeLibrary[] {
  return LIBRARIES.filter((l) => l.name !== 'onednn' || process.env.LIGHTPATH_ONEDNN !== '0');
}

/** Installs libopenblas-dev and libdnnl-dev where missing and apt is usable as root; one line saying what happened. */
export function ensureNativeLibraries(): string {
  if (process.env.LIGHTPATH_NATIVE === '0') return 'openblas, onednn: not needed (LIGHTPATH_NATIVE=0)';
  const libs = wanted();
  const missing = libs.filter((l) => !l.installed());
  const names = libs.map((l) => l.name).join(', ');
  if (missing.length === 0) return `${names}: development files installed`;
  const pkgs = missing.map((l) => l.pkg).join(' ');
  if (!onPath('apt-get') || !onPath('dpkg-query')) return `${names}: skipped, apt is unavailable (install ${pkgs} or the same libraries with their headers for the native provider)`;
  if (process.getuid?.() !== 0) return `${names}: skipped, not root (as root: apt-get install ${pkgs})`;
  const failures = new Map<string, string>();
  if (aptInstall(missing.map((l) => l.pkg)) !== null) {
    // One package may be what fails (oneDNN is not in every release): try each alone.
    for (const l of missing) {
      const error = aptInstall([l.pkg]);
      if (error !== null) failures.set(l.pkg, error);
    }
  }
  return libs
    .map(
      (l) =>
        `${l.name}: ${!missing.includes(l) ? 'development files installed' : l.installed() ? `${l.pkg} installed now` : `skipped, apt-get install ${l.pkg} failed: ${failures.get(l.pkg) ?? 'its files are still missing'}`}`,
    )
    .join('; ');
}
