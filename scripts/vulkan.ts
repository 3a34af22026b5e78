/**
 * A Vulkan driver for the webgpu backend's tests on machines without a GPU: Mesa's
 * lavapipe (`mesa-vulkan-drivers`) and the Vulkan loader (`libvulkan1`). Dawn
 * rejects Debian bookworm's Mesa 22.3 lavapipe (it lacks
 * `shaderUniform*ArrayDynamicIndexing`); Mesa 25 from bookworm-backports works, so
 * on bookworm a `bookworm-backports` apt source is added (the same URI and
 * keyring as the system's Debian source) and the two packages come from it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onPath } from './on-path.js';
import { aptGet } from './apt.js';

const SOURCES_DIR = '/etc/apt/sources.list.d';
const BACKPORTS_FILE = join(SOURCES_DIR, 'lightpath-bookworm-backports.sources');
const ICD_DIR = '/usr/share/vulkan/icd.d';

/** Mesa's version of the installed lavapipe, or null when it is not installed. */
function installedMesa(): string | null {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Status} ${Version}', 'mesa-vulkan-drivers'], { encoding: 'utf8' });
  const m = /install ok installed (\S+)/.exec(r.stdout ?? '');
  return m ? m[1]! : null;
}

/** Whether `version` (a Debian version of Mesa) is at least 23, the first Dawn accepts. */
function mesaIsNewEnough(version: string): boolean {
  return Number(/^(?:\d+:)?(\d+)/.exec(version)?.[1] ?? 0) >= 23;
}

/** The URI and keyring of the system's Debian source, for a backports entry next to it. */
function debianSource(): { uri: string; keyring: string } | null {
  const files = existsSync(SOURCES_DIR)
    ? readdirSync(SOURCES_DIR)
        .filter((f) => f.endsWith('.sources'))
        .map((f) => join(SOURCES_DIR, f))
    : [];
  for (const f of files) {
    for (const stanza of readFileSync(f, 'utf8').split(/\n\s*\n/)) {
      if (!/^Suites:.*\bbookworm\b/m.test(stanza)) continue;
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      if (uri && /\/debian\/?$/.test(uri)) return { uri, keyring: /^Signed-By:\s*(\S+)/m.exec(stanza)?.[1] ?? '/usr/share/keyrings/debian-archive-keyring.gpg' };
    }
  }
  const list = existsSync('/etc/apt/sources.list') ? readFileSync('/etc/apt/sources.list', 'utf8') : '';
  const deb = /^deb\s+(?:\[signed-by=(\S+)\]\s+)?(\S+\/debian\/?)\s+bookworm\s/m.exec(list);
  return deb ? { uri: deb[2]!, keyring: deb[1] ?? '/usr/share/keyrings/debian-archive-keyring.gpg' } : null;
}

/** apt-get with `args` (apt.ts's, quiet); whether it succeeded. */
function apt(args: string[]): boolean {
  return aptGet(args) === null;
}

/**
 * Installs lavapipe from bookworm-backports where it is missing or too old;
 * returns what was found or done, or why it was skipped (not Debian bookworm, no
 * apt, not root).
 */
export function ensureVulkan(): string {
  const have = installedMesa();
  if (have && mesaIsNewEnough(have) && existsSync(ICD_DIR)) return `vulkan: Mesa ${have} lavapipe installed`;
  if (!onPath('apt-get') || !onPath('dpkg-query')) return 'vulkan: skipped, apt is unavailable (install a Vulkan driver and libvulkan1 yourself; the webgpu tests skip without one)';
  if (process.getuid?.() !== 0) return 'vulkan: skipped, not root (as root: apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1)';
  const os = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  if (!/^VERSION_CODENAME=bookworm$/m.test(os)) {
    if (!apt(['install', '-y', 'mesa-vulkan-drivers', 'libvulkan1'])) return 'vulkan: apt-get install mesa-vulkan-drivers libvulkan1 failed';
    return `vulkan: Mesa ${installedMesa()} lavapipe installed from the system's sources`;
  }
  const source = debianSource();
  if (!source) return 'vulkan: skipped, no Debian bookworm apt source to add bookworm-backports next to';
  if (!existsSync(BACKPORTS_FILE)) {
    writeFileSync(BACKPORTS_FILE, `Types: deb\nURIs: ${source.uri}\nSuites: bookworm-backports\nComponents: main\nSigned-By: ${source.keyring}\n`);
  }
  if (!apt(['update']) || !apt(['install', '-y', '-t', 'bookworm-backports', 'mesa-vulkan-drivers', 'libvulkan1'])) {
    return 'vulkan: apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1 failed';
  }
  return `vulkan: Mesa ${installedMesa()} lavapipe installed from bookworm-backports`;
}
