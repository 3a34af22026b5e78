/**
 * Stage outputs keyed for reuse: a resumed run reuses every stage whose key — a
 * hash of the stage's name, its inputs (config slice and input artifacts' hashes)
 * and the code version — matches a stage the run it continues finished. A train
 * stage that did not finish there continues from its last checkpoint.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { openStore } from '../storage/open.js';
import { readManifest } from '../storage/manifest.js';
import type { StageLookup, TrainHeartbeat } from '../contracts/types.js';

/** The compiled package's `dist/` (or, run from source, the repository). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** lightpath's package.json (through the package's own export), whose lock file sits beside it. */
const PACKAGE_DIR = dirname(createRequire(import.meta.url).resolve('lightpath/package.json'));
/** Folders whose sources decide what a stage computes. */
const CODE_DIRS = ['contracts', 'ml', 'activities', 'workflows', 'storage'];

let version: string | null = null;

/** SHA-256 of lightpath's computing sources and dependency lock (per process, computed once). */
export function codeVersion(): string {
  if (version) return version;
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|js|c|json)$/.test(name)) h.update(path.slice(ROOT.length)).update(readFileSync(path));
    }
  };
  for (const d of CODE_DIRS) walk(join(ROOT, d));
  for (const f of ['package.json', 'package-lock.json']) {
    try {
      h.update(readFileSync(join(PACKAGE_DIR, f)));
    } catch {
      h.update(`no ${f}`);
    }
  }
  version = h.digest('hex');
  return version;
}

/** Canonical JSON (sorted keys) so equal inputs hash equally. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** The key of a stage: its name, inputs and the code version. */
export function stageKey(stage: string, inputs: unknown): string {
  return createHash('sha256').update(stage).update('\0').update(canonical(inputs)).update('\0').update(codeVersion()).digest('hex');
}

/**
 * Keys a stage and looks it up in the run it continues (`previousRunId`); `force`
 * (from `--from-stage`) skips reuse and checkpoints.
 */
export async function lookupStage(input: { store: string; stage: string; inputs: unknown; previousRunId?: string | null; force?: boolean }): Promise<StageLookup> {
  const key = stageKey(input.stage, input.inputs);
  if (!input.previousRunId || input.force) return { key, reuse: null, checkpoint: null };
  const store = openStore(input.store);
  const previous = await readManifest(store, input.previousRunId);
  const reuse = previous?.stages?.find((s) => s.key === key) ?? null;
  if (reuse || input.stage !== 'train') return { key, reuse, checkpoint: null };
  let best: TrainHeartbeat & { stageKey?: string } = { epoch: 0, checkpoint: null, metrics: null };
  for await (const o of store.list(`runs/${input.previousRunId}/train/`)) {
    if (!o.uri.endsWith('/latest-checkpoint.json')) continue;
    const bytes = await store.getNamed(store.keyOf(o.uri));
    const p = bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as TrainHeartbeat & { stageKey?: string }) : null;
    if (p?.stageKey === key && p.epoch > best.epoch) best = p;
  }
  return { key, reuse: null, checkpoint: best.checkpoint };
}
