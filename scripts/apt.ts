/**
 * Installing Debian packages for provisioning (the dataset, the native addon's
 * libraries), quietly: apt's progress output would bury `npm start`'s own lines,
 * and a machine whose package lists are empty fails the first try with "Unable to
 * locate package" before `apt-get update` fixes it. apt's last error line (the
 * one that says why) is returned only when the install fails for good.
 */
import { spawnSync } from 'node:child_process';

const ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

/** Runs apt-get -q with `args`, output kept; the last line of its error output, or null when it succeeded. */
export function aptGet(args: string[]): string | null {
  const r = spawnSync('apt-get', ['-q', ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: ENV });
  if (r.status === 0) return null;
  return (
    (r.stderr ?? '')
      .split('\n')
      .filter((l) => l.trim())
      .pop()
      ?.trim() ??
    r.error?.message ??
    `apt-get exited with ${r.status ?? r.signal}`
  );
}

/** Installs `pkgs` (after an `apt-get update` if the first try fails); null on success, else apt's last error line. */
export function aptInstall(pkgs: string[]): string | null {
  if (aptGet(['install', '-y', ...pkgs]) === null) return null;
  return aptGet(['update']) ?? aptGet(['install', '-y', ...pkgs]);
}
