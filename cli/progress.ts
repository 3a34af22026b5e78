/** Printing a run's progress while waiting for its result (one line per change). */
import type { LightpathClient } from './client.js';
import type { GlaiOutcome, PipelineResult, Progress } from '../workflows/types.js';

function line(p: Progress): string {
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

/** Polls the `progress` query, printing a line whenever it changes, until the run finishes. */
export async function followRun(lp: LightpathClient, runId: string, out: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): Promise<PipelineResult> {
  let done = false;
  const result = lp.result(runId).finally(() => (done = true));
  let prev = '';
  while (!done) {
    const p = await lp.progress(runId).catch(() => null);
    if (p) {
      const l = line(p);
      if (l !== prev) out(l);
      prev = l;
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
  }
  return result;
}

/** The run's outcome in lines: accuracy, backend, the weight-decay decision log and GLAI scores when present. */
export function summaryLines(r: PipelineResult): string[] {
  const out = [`run ${r.runId}: test accuracy ${(r.testAccuracy * 100).toFixed(2)} % on ${r.backend}; manifest ${r.manifest}`];
  if (r.search) {
    out.push(`weight-decay ${r.search.mode}: chose ${r.search.chosenWeightDecay.toExponential(2)} after ${r.search.epochsSpent} training epochs`);
    for (const d of r.search.decisions) out.push(`  epoch ${String(d.epoch).padStart(3)}  ${d.candidate.padEnd(14)} ${(d.oui === null ? '' : d.oui.toFixed(3)).padEnd(6)} ${d.verdict.padEnd(18)} ${d.reason}`);
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
