/**
 * Finding executables for the provisioning scripts.
 */
import { existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The path of executable `name` on PATH (a name with a slash is taken as a path), or null. */
export function onPath(name: string): string | null {
  if (name.includes('/')) return existsSync(name) ? name : null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p) && statSync(p).isFile()) return p;
  }
  return null;
}
