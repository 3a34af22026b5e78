/**
 * Run manifests: one JSON document per run listing every artifact with the stage
 * that produced it, that stage's inputs and the artifact's hash, plus what a reader
 * needs to reproduce the run (config, seed, backend, versions) and its metrics.
 */
import type { RunManifest } from '../contracts/types.js';
import type { ArtifactStore } from './artifact-store.js';

export type { RunManifest } from '../contracts/types.js';

/** Key of a run's manifest in the store. */
export function manifestKey(runId: string): string {
  return `runs/${runId}/manifest.json`;
}

/** Writes (replaces) a run's manifest; returns its URI. */
export async function writeManifest(store: ArtifactStore, m: RunManifest): Promise<string> {
  return store.putNamed(manifestKey(m.runId), new TextEncoder().encode(JSON.stringify(m, null, 2)));
}

/** Reads a run's manifest, or null when the run wrote none. */
export async function readManifest(store: ArtifactStore, runId: string): Promise<RunManifest | null> {
  const bytes = await store.getNamed(manifestKey(runId));
  return bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as RunManifest) : null;
}
