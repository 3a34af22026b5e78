/**
 * Data roots: the folders and S3 prefixes that data sources and watch locations
 * may name when whoever names them is not trusted with the worker's whole
 * filesystem and credentials.
 *
 * Who is confined (the decision, in one place):
 * - The HTTP API (`lightpath serve`) confines every source its callers name
 *   (`data.source` of a pipeline config, a retrain's `data`, a schedule's `watch`)
 *   and every `store` they name, before anything starts: a caller with a token
 *   must not make a worker read arbitrary files. Its roots: the built-in data sets
 *   (`fashion-mnist`, `synthetic`), the server's configured store, and
 *   `LIGHTPATH_DATA_ROOTS`.
 * - Workers confine every source and watch location they open once an operator
 *   sets `LIGHTPATH_DATA_ROOTS` on them (their roots: the built-in data sets, the
 *   run's store, and those roots). This is the only place that sees every path
 *   whoever started the run, and it follows symlinks on the worker's own
 *   filesystem. Without the variable a worker reads what its Temporal clients
 *   name: a Temporal client can start any workflow on the worker's queues, so it
 *   is trusted, and a CLI user running `lightpath run` with a local folder against
 *   their own `lightpath worker` or `lightpath dev` keeps working unconfigured.
 * - The CLI and the typed client do not confine: they act for the user who runs
 *   them, with that user's Temporal access.
 *
 * `LIGHTPATH_DATA_ROOTS` is a comma-separated list of folders (absolute, or
 * relative to the working directory) and `s3://bucket/prefix` prefixes. A path is
 * inside a folder root when, decoded and resolved, it is the root or below it,
 * and — where it exists — its real path (symlinks followed) is below the root's
 * real path. Files inside an allowed folder are the operator's: a symlink planted
 * inside a root is followed for the folder itself, not for each file read from it.
 */
import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Names of the built-in data sets, which are always allowed. */
export const BUILTIN_SOURCES = ['fashion-mnist', 'synthetic'] as const;

/** Allowed folders (absolute, resolved) and S3 prefixes (`s3://bucket/prefix/`). */
export interface DataRoots {
  folders: string[];
  prefixes: string[];
}

/** Whether a path or key segment is `.` or `..`, also percent-encoded (`%2e%2e`). */
export function isDotSegment(segment: string): boolean {
  let s = segment;
  try {
    s = decodeURIComponent(segment);
  } catch {
    // an undecodable segment is not a dot segment
  }
  return s === '.' || s === '..';
}

const s3Prefix = (uri: string) => uri.replace(/\/*$/, '/');

/** Parses a roots list (`LIGHTPATH_DATA_ROOTS`'s form) plus `store`; empty entries are ignored. */
export function parseDataRoots(list: string | undefined, store?: string): DataRoots {
  const roots: DataRoots = { folders: [], prefixes: [] };
  const add = (entry: string) => {
    if (entry.startsWith('s3://')) roots.prefixes.push(s3Prefix(entry));
    else if (entry.startsWith('file://')) roots.folders.push(resolve(fileURLToPath(entry)));
    else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) roots.folders.push(resolve(entry));
  };
  for (const entry of (list ?? '').split(',').map((e) => e.trim())) if (entry) add(entry);
  if (store) add(store);
  return roots;
}

/** The roots the environment configures (`LIGHTPATH_DATA_ROOTS`), plus `store`; null when the variable is unset. */
export function configuredDataRoots(store?: string): DataRoots | null {
  const list = process.env.LIGHTPATH_DATA_ROOTS;
  return list === undefined || list.trim() === '' ? null : parseDataRoots(list, store);
}

const inside = (root: string, path: string) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);

/** The real path of `path`, or of its nearest existing ancestor joined with the rest (a path that does not exist yet). */
async function realOrNearest(path: string): Promise<string> {
  const real = await realpath(path).catch(() => null);
  if (real !== null) return real;
  const parent = dirname(path);
  if (parent === path) return path;
  return resolve(await realOrNearest(parent), path.slice(parent.length).replace(/^[/\\]+/, ''));
}

/** Whether `path` (absolute, resolved) is inside one of `roots`, symlinks followed. */
export async function insideFolders(path: string, roots: string[]): Promise<boolean> {
  const lexical = roots.filter((r) => inside(r, path));
  if (!lexical.length) return false;
  const real = await realOrNearest(path);
  for (const r of lexical) if (inside(await realOrNearest(r), real)) return true;
  return false;
}

/** A human list of `roots` for messages. */
export function describeRoots(roots: DataRoots): string {
  return [...BUILTIN_SOURCES, ...roots.folders, ...roots.prefixes].join(', ');
}

/**
 * Why `location` (a data source, optionally with a `#k/n` shard suffix, or a watch
 * location: a built-in name, a path, a `file://` URL or an `s3://` URI) is outside
 * `roots`, or null when it is inside. Decodes and normalises before it compares.
 */
export async function outsideDataRoots(location: string, roots: DataRoots): Promise<string | null> {
  const spec = location.replace(/#\d+\/\d+$/, '');
  if ((BUILTIN_SOURCES as readonly string[]).includes(spec)) return null;
  const refuse = `${spec} is outside the data roots (${describeRoots(roots)}); an operator adds folders and s3:// prefixes to LIGHTPATH_DATA_ROOTS`;
  if (spec.includes('\0')) return `${JSON.stringify(spec)} contains a NUL character`;
  if (spec.startsWith('s3://')) {
    const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(spec);
    if (!m) return `${spec} is not an s3://bucket/prefix location`;
    if ((m[2] ?? '').split('/').some(isDotSegment)) return `${spec} has . or .. segments`;
    return roots.prefixes.some((p) => s3Prefix(spec).startsWith(p)) ? null : refuse;
  }
  let path: string;
  if (spec.startsWith('file://')) {
    if (spec.slice('file://'.length).split('/').some(isDotSegment)) return `${spec} has . or .. segments`;
    try {
      path = fileURLToPath(spec);
    } catch (e) {
      return `${spec} is not a file URL (${(e as Error).message})`;
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    return `${spec}: only folders, files and s3:// locations are data`;
  } else {
    path = spec;
  }
  const abs = isAbsolute(path) ? resolve(path) : resolve(process.cwd(), path);
  return (await insideFolders(abs, roots.folders)) ? null : refuse;
}
