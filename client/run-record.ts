/**
 * A finished (or running) run as `report`, `metrics` and `export` read it: its
 * manifest from the store, and, when Temporal is reachable, what the workflow
 * says about itself (status, result). A client-side read: nothing is started.
 */
import { type PipelineConfig } from '../contracts/config.js';
import { ConfigError } from '../contracts/errors.js';
import type { StabilizationSummary } from '../contracts/types.js';
import { type EpochMetrics } from '../contracts/runs.js';
import { type Candidate, type Decision } from '../contracts/search.js';
import { manifestKey, type RunManifest } from '../storage/manifest.js';
import { configuredStoreUri, openStore, storeForUri } from '../storage/open.js';

/** A run's manifest and where it was read from. */
export interface RunRecord {
  manifest: RunManifest;
  manifestUri: string;
}

/** The weight-decay search as the manifest records it (candidates without their model files). */
export interface SearchMetrics {
  mode: string;
  chosenWeightDecay: number;
  winner: string;
  epochsSpent: number;
  decisions: Decision[];
  candidates: Omit<Candidate, 'checkpoint' | 'model'>[];
}

/** GLAI scores and stabilization as the manifest records them. */
export interface GlaiMetrics {
  structureId: string;
  featureDim: number;
  estimatorAccuracy: number | null;
  selectorAccuracy: number | null;
  stabilization: StabilizationSummary;
}

/** The typed view of a manifest's `metrics` (every part optional: a failed or running run has only some). */
export interface RunMetrics {
  history: EpochMetrics[];
  testAccuracy: number | null;
  parameters: number | null;
  trainAttempts: number | null;
  resumedFromEpoch: number | null;
  search: SearchMetrics | null;
  glai: GlaiMetrics | null;
  error: string | null;
}

/**
 * Rejects ids that would leave `runs/` in the store or are not one key segment: empty, longer than 255, `.`,
 * `..`, or holding `/`, `\\`, `%` (a percent-encoded `/` or `..`) or a control character. Run ids are workflow ids
 * (`lightpath-train-<name>-<nanoid>`), which never hold any of these.
 */
export function checkRunId(runId: string, field = 'run id'): void {
  if (
    typeof runId !== 'string' ||
    !runId ||
    runId.length > 255 ||
    runId === '.' ||
    runId === '..' ||
    [...runId].some((c) => '/\\%'.includes(c) || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)
  ) {
    throw new ConfigError(`${field}: ${JSON.stringify(String(runId).slice(0, 100))} is not a run id (no /, \\, %, control characters, . or ..)`, []);
  }
}

/** Reads run `runId`'s manifest from `store` (default: the configured store), or null when the store has none. */
export async function findRun(runId: string, store: string = configuredStoreUri()): Promise<RunRecord | null> {
  checkRunId(runId);
  const s = openStore(store);
  const bytes = await s.getNamed(manifestKey(runId));
  return bytes ? { manifest: JSON.parse(new TextDecoder().decode(bytes)) as RunManifest, manifestUri: `${s.root}${manifestKey(runId)}` } : null;
}

/** Reads the manifest at `uri` (as a completed pipeline's result names it), or null when absent. */
export async function readRunAt(uri: string): Promise<RunRecord | null> {
  const s = storeForUri(uri);
  const bytes = await s.getNamed(s.keyOf(uri));
  return bytes ? { manifest: JSON.parse(new TextDecoder().decode(bytes)) as RunManifest, manifestUri: uri } : null;
}

/** Like `findRun`, but a missing manifest is bad input (ConfigError naming where it looked). */
export async function readRun(runId: string, store: string = configuredStoreUri()): Promise<RunRecord> {
  const r = await findRun(runId, store);
  if (!r) throw new ConfigError(`run ${runId}: no manifest at ${openStore(store).root}${manifestKey(runId)} (wrong run id or store? give \`store\`)`, []);
  return r;
}

/** The metrics a manifest holds, typed; absent parts are null (empty history). */
export function runMetrics(m: RunManifest): RunMetrics {
  const x = m.metrics as Partial<Record<keyof RunMetrics | 'weightDecaySearch', unknown>>;
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  return {
    history: Array.isArray(x.history) ? (x.history as EpochMetrics[]) : [],
    testAccuracy: num(x.testAccuracy),
    parameters: num(x.parameters),
    trainAttempts: num(x.trainAttempts),
    resumedFromEpoch: num(x.resumedFromEpoch),
    search: (x.weightDecaySearch as SearchMetrics | undefined) ?? null,
    glai: (x.glai as GlaiMetrics | undefined) ?? null,
    error: typeof x.error === 'string' ? x.error : null,
  };
}

/** The run's config as the workflow parsed it (defaults filled in). */
export function runConfig(m: RunManifest): PipelineConfig {
  return m.config as PipelineConfig;
}
