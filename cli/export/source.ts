/** What `lightpath export` exports: a run's trained model and, with GLAI, its estimator. */
import type { RunManifest } from '../../storage/manifest.js';
import type { GlaiOutcome, ModelRefs, PipelineResult, Ref } from '../../contracts/types.js';
import { ConfigError } from '../../contracts/errors.js';
import { type RunInfo } from '../../contracts/runs.js';

/** The model files to export, the estimator (if any) and metadata recorded in model.json. */
export interface ExportSource {
  model: ModelRefs;
  estimator: Ref | null;
  metadata: Record<string, unknown>;
}

/** From a run's manifest: the `train` stage's model and the `estimator` stage's estimator. */
export function sourceFromManifest(m: RunManifest): ExportSource {
  const find = (stage: string, name: string) => m.artifacts.find((a) => a.stage === stage && a.name === name)?.ref;
  const model = find('train', 'model.json');
  const weights = find('train', 'weights.bin');
  if (!model || !weights) throw new ConfigError(`run ${m.runId}: no trained model in its manifest (status ${m.status})`, []);
  return { model: { model, weights }, estimator: find('estimator', 'glai-estimator') ?? null, metadata: { runId: m.runId, pipeline: m.pipeline, seed: m.seed, backend: m.backend } };
}

/** From a completed workflow's result: a pipeline's model (and GLAI), or a retrain's or merge's selector and estimator. */
export function sourceFromWorkflow(w: RunInfo): ExportSource {
  if (w.status !== 'COMPLETED') throw new ConfigError(`${w.runId}: ${w.kind} is ${w.status}; only a completed run can be exported`, []);
  const r = w.result as PipelineResult | GlaiOutcome;
  const metadata = { runId: w.runId, runKind: w.kind };
  if ('runId' in r) return { model: r.model, estimator: r.glai?.estimator.ref ?? null, metadata };
  return { model: r.structure.model, estimator: r.estimator.ref, metadata };
}
