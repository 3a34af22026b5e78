/** Output of the GLAI commands (retrain, merge). */
import type { GlaiOutcome, SiteOutcome } from '../../contracts/types.js';
import { glaiLines } from '../progress.js';

/** Waits for a GLAI workflow (unless --no-wait) and prints its outcome. */
export async function finishGlai(workflowId: string, handle: { result(): Promise<GlaiOutcome & { sites?: SiteOutcome[]; added?: number }> }, o: { wait: boolean; json?: boolean }): Promise<void> {
  if (!o.wait) {
    process.stdout.write(o.json ? `${JSON.stringify({ workflowId })}\n` : `${workflowId}\n`);
    return;
  }
  const r = await handle.result();
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ workflowId, ...r })}\n`);
    return;
  }
  const lines = [workflowId, ...glaiLines(r)];
  if (r.added !== undefined) lines.push(`  read ${r.added} new samples only; the structure is unchanged`);
  for (const s of r.sites ?? []) lines.push(`  site ${s.site.padEnd(16)} ${s.status}${s.estimator ? ` (${s.estimator.count} samples)` : ''}${s.error ? `: ${s.error}` : ''}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
