/**
 * The per-user cache folder outside the repository that provisioning builds into
 * (the Temporal CLI, MinIO, Fashion-MNIST, the native BLAS addon), so a fresh
 * clone reuses earlier builds.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The per-user cache folder: `$LIGHTPATH_CACHE`, default `~/.cache/lightpath` (`$XDG_CACHE_HOME/lightpath`). */
export function cacheDir(): string {
  return process.env.LIGHTPATH_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'lightpath');
}
