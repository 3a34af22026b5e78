/** Running `lightpath` as a subprocess in tests (asynchronously: the test process may host the workers). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { scanText } from './secret-scan.js';

/** What a CLI run printed and its exit status. */
export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** The CLI from source, as the repository runs it (`npm start`): Node with tsx, then cli/main.ts. */
export const CLI_FROM_SOURCE = ['--import', 'tsx', 'cli/main.ts'];

/** Runs `lightpath <args>` with the test's environment (plus `env`); never throws on a non-zero exit. */
export async function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const run = await promisify(execFile)(process.execPath, [...CLI_FROM_SOURCE, ...args], { encoding: 'utf8', env: { ...process.env, ...env } }).then(
    (r) => ({ status: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ status: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
  scanText(`${run.stdout}\n${run.stderr}`, `output of lightpath ${args[0] ?? ''}`);
  return run;
}

/** Runs `lightpath <args> --json`, requires exit 0 and parses its output. */
export async function cliJson<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const r = await cli([...args, '--json']);
  if (r.status !== 0) throw new Error(`lightpath ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
