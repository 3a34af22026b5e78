/** Showing a run's progress while waiting for its result: a live bar on a terminal, one line per change otherwise. */
import { Presets, SingleBar } from 'cli-progress';
import type { LightpathClient } from '../client/connect.js';
import { type RunInfo } from '../contracts/runs.js';
import type { GlaiOutcome, PipelineResult } from '../contracts/types.js';
import { type Progress } from '../contracts/runs.js';

/** One line describing a progress snapshot. */
export function line(p: Progress): string {
  const m = p.metrics;
  const parts = [`stage ${p.stage}`];
  if (p.stage === 'train' || m) parts.push(`epoch ${p.epoch}/${p.epochs}${p.batch && p.batches ? ` batch ${p.batch}/${p.batches}` : ''}`);
  if (m) {
    parts.push(`loss ${m.loss.toFixed(4)}`, `OUI ${m.oui.toFixed(3)}`);
    if (m.valAccuracy !== null) parts.push(`val acc ${(m.valAccuracy * 100).toFixed(2)}%`);
    parts.push(`${Math.round(m.samplesPerSecond)} samples/s`);
  }
  if (p.backend) parts.push(`backend ${p.backend}`);
  return parts.join(' · ');
}

/** How progress is shown: a live bar (terminal), one line per change, or nothing. */
export type ProgressMode = 'bar' | 'lines' | 'silent';

/** A bar on a terminal, lines otherwise. */
export function defaultProgressMode(): ProgressMode {
  return process.stderr.isTTY ? 'bar' : 'lines';
}

/** Follows a run's progress (bar on stderr, or lines on stdout) until it closes; returns its description. */
export async function showProgress(lp: LightpathClient, runId: string, mode: ProgressMode = defaultProgressMode()): Promise<RunInfo> {
  const bar =
    mode === 'bar'
      ? new SingleBar(
          { format: '{stage} |{bar}| {percentage}% · {detail} · ETA {eta_formatted}', hideCursor: true, clearOnComplete: false, stream: process.stderr, etaBuffer: 50 },
          Presets.shades_classic,
        )
      : null;
  let started = false;
  const watch = lp.watchRun(runId);
  try {
    for (let n = await watch.next(); ; n = await watch.next()) {
      if (n.done) return n.value;
      const p = n.value;
      if (mode === 'lines') process.stdout.write(`${line(p)}\n`);
      if (!bar) continue;
      const done = Math.round(100 * (p.epoch + (p.batch && p.batches ? p.batch / p.batches : 0)));
      const payload = { stage: p.stage.padEnd(10), detail: line(p).split(' · ').slice(1).join(' · ') || 'waiting' };
      if (!started) bar.start(Math.max(1, p.epochs * 100), done, payload);
      else bar.update(done, payload);
      started = true;
    }
  } finally {
    bar?.stop();
  }
}

/** Follows a pipeline run (see `showProgress`) and returns its result, or throws its failure. */
export async function followRun(lp: LightpathClient, runId: string, mode: ProgressMode = defaultProgressMode()): Promise<PipelineResult> {
  await showProgress(lp, runId, mode);
  return lp.result(runId);
}

/** The run's outcome in lines: accuracy, backend, the weight-decay decision log and GLAI scores when present. */
export function summaryLines(r: PipelineResult): string[] {
  const out = [`run ${r.runId}: test accuracy ${(r.testAccuracy * 100).toFixed(2)} % on ${r.backend}; manifest ${r.manifest}`];
  if (r.search) {
    out.push(`weight-decay ${r.search.mode}: chose ${r.search.chosenWeightDecay.toExponential(2)} after ${r.search.epochsSpent} training epochs`);
    for (const d of r.search.decisions)
      out.push(`  epoch ${String(d.epoch).padStart(3)}  ${d.candidate.padEnd(14)} ${(d.oui === null ? '' : d.oui.toFixed(3)).padEnd(6)} ${d.verdict.padEnd(18)} ${d.reason}`);
  }
  if (r.glai) {
    out.push(...glaiLines(r.glai));
    const st = r.glai.stabilization;
    const at = (e: number | null) => (e === null ? 'not within the run' : `epoch ${e}`);
    out.push(`  structure settled ${at(st.patternSettledEpoch)}, weights ${at(st.weightSettledEpoch)}${st.frozenAtEpoch ? `; training stopped at epoch ${st.frozenAtEpoch} (structure frozen)` : ''}`);
  }
  return out;
}

/** Lines describing a GLAI outcome (pipeline, retrain or merge): estimator, structure, samples, scores. */
export function glaiLines(g: GlaiOutcome): string[] {
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(2)} %`);
  return [
    `GLAI estimator ${g.estimator.ref.uri} (${g.estimator.count} samples, ${g.estimator.dim} features) on structure ${g.structure.id.slice(0, 12)}…`,
    `  test accuracy: estimator ${pct(g.estimatorAccuracy)} vs selector ${pct(g.selectorAccuracy)}`,
  ];
}
