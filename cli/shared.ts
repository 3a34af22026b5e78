/** What every CLI command shares: config files, one-line errors with exit codes, the client. */
import { InvalidArgumentError } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { parsePipelineConfig, type PipelineConfig } from '../contracts/config.js';
import { ConfigError, InvalidInputError } from '../contracts/errors.js';
import { connect, type LightpathClient } from '../client/connect.js';

/** Exit codes: distinguish bad input, a failed run and an unreachable service. */
export const EXIT = { ok: 0, failedRun: 1, badInput: 2, connection: 3 } as const;

/** The largest config file read (1 MiB): a pipeline config is a few hundred bytes. */
export const CONFIG_FILE_LIMIT = 1024 * 1024;

/**
 * Reads and validates a YAML/JSON pipeline config file (before anything connects); errors name the file and field.
 * Files over CONFIG_FILE_LIMIT are refused unread; YAML alias bombs are refused by the `yaml` package's
 * `maxAliasCount` (100 alias expansions), before they expand.
 */
export async function loadConfigFile(path: string): Promise<PipelineConfig> {
  let text: string;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new ConfigError(`${path}: not a file`, []);
    if (s.size > CONFIG_FILE_LIMIT) throw new ConfigError(`${path}: ${s.size} bytes; a config file is at most ${CONFIG_FILE_LIMIT} bytes (1 MiB)`, []);
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code})`, []);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new ConfigError(`${path}: not valid YAML: ${(e as Error).message.split('\n')[0]}`, []);
  }
  return parsePipelineConfig(raw, path);
}

/** The client's messages name fields (`fromStage`); the CLI names its options (--from-stage). */
export function cliWording(message: string): string {
  return message.replace(/`([a-z][A-Za-z]*)`/g, (_, field: string) => `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
}

/** Prints `e` as one line and exits with the matching code (bad input 2, connection 3, otherwise 1). */
export function fail(e: unknown): never {
  const err = e as Error & { code?: string };
  if (err.name === 'WorkflowNotFoundError') {
    process.stderr.write(`error: no such run (${err.message.split('\n')[0]}); \`lightpath list\` shows the runs\n`);
    process.exit(EXIT.badInput);
  }
  if (err instanceof ConfigError || err instanceof InvalidInputError) {
    process.stderr.write(`error: ${cliWording(err.message)}\n`);
    process.exit(EXIT.badInput);
  }
  if (/ECONNREFUSED|UNAVAILABLE|Failed to connect|TransportError/i.test(`${err.message} ${err.code ?? ''}`)) {
    process.stderr.write(`error: cannot reach Temporal at ${process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233'} (${err.message.split('\n')[0]}); start a server or set TEMPORAL_ADDRESS\n`);
    process.exit(EXIT.connection);
  }
  let root: Error = err;
  while (root.cause instanceof Error) root = root.cause;
  process.stderr.write(`error: ${err.message.split('\n')[0]}${root !== err ? `: ${root.message}` : ''}\n`);
  process.exit(EXIT.failedRun);
}

/** Connects, runs `fn`, closes; any error exits through `fail`. */
export async function withClient(fn: (lp: LightpathClient) => Promise<void>): Promise<void> {
  try {
    const lp = await connect();
    try {
      await fn(lp);
    } finally {
      await lp.close();
    }
  } catch (e) {
    fail(e);
  }
}

/** Parses a positive integer option. */
export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}
