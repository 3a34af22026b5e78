/**
 * The OUI-driven weight-decay search on a real dev server and real workers, with
 * small synthetic data and tiny budgets. A huge weight decay collapses the network
 * (every unit off → OUI 0), which makes the rule's verdict predictable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useStack } from '../helpers/services.js';
import { summaryLines } from '../../cli/progress.js';
import { type Candidate, type Decision } from '../../contracts/search.js';
import type { RunManifest } from '../../storage/manifest.js';
import { storeForUri } from '../../storage/open.js';

const stack = useStack(['cpu', 'gpu'], 2);

const base = {
  data: { source: 'synthetic', validationSize: 300 },
  model: { hidden: [32, 16] },
  train: { epochs: 4, batchSize: 50, learningRate: 0.01 },
  oui: { pairs: 28, every: 2 },
};

async function searchState(runId: string): Promise<{ decisions: Decision[]; candidates: Candidate[] }> {
  const m = JSON.parse(new TextDecoder().decode((await storeForUri(stack.svc.store).getNamed(`lightpath/runs/${runId}/manifest.json`))!)) as RunManifest;
  return m.metrics.weightDecaySearch as { decisions: Decision[]; candidates: Candidate[] };
}

test('search: the collapsing candidate is stopped as underfitting after warm-up; the winner continues to the budget', async () => {
  const { runId, handle } = await stack.lp.startPipeline(
    { ...base, name: 'wdsearch', search: { mode: 'search', candidates: [1e-4, 50], band: [0.02, 0.99], warmupEpochs: 2, keep: 1 } },
    { store: stack.svc.store },
  );
  const result = await handle.result();
  assert.ok(result.testAccuracy > 0.8, `test accuracy ${result.testAccuracy}`);
  const { decisions, candidates } = await searchState(runId);
  const [good, huge] = candidates;
  assert.equal(huge!.status, 'stopped');
  assert.equal(huge!.verdict, 'underfitting');
  const stopDecision = decisions.find((d) => d.candidate === huge!.id && d.verdict === 'underfitting')!;
  assert.equal(stopDecision.epoch, 2, 'stopped at the first decision after warm-up, not before');
  assert.ok(stopDecision.oui! < 0.02, `OUI ${stopDecision.oui}`);
  assert.equal(huge!.epoch, 2);
  const concurrency = decisions.find((d) => d.verdict === 'concurrency');
  assert.match(concurrency?.reason ?? '', /^2 candidate\(s\) at once: the training slots of 1 GPU worker/, "default concurrency = the worker's 2 slots");
  assert.equal(good!.verdict, 'winner');
  assert.equal(good!.epoch, 4);
  assert.deepEqual(
    result.history.map((h) => h.epoch),
    [1, 2, 3, 4],
    'the epoch counter runs on from the checkpoint',
  );
  assert.ok(decisions.some((d) => d.candidate === good!.id && d.verdict === 'continue' && /epoch-2 checkpoint/.test(d.reason)));
  assert.ok(!decisions.some((d) => d.candidate === good!.id && ['underfitting', 'overfitting'].includes(d.verdict)));
  const search = (await searchState(runId)) as unknown as { epochsSpent: number };
  assert.equal(search.epochsSpent, 4 + 2, 'no epoch trained twice');
  assert.equal(result.search!.chosenWeightDecay, 1e-4);
  const printed = summaryLines(result).join('\n');
  assert.match(printed, /weight-decay search: chose 1\.00e-4 after 6 training epochs/);
  assert.ok(
    printed.split('\n').some((l) => l.includes(huge!.id) && / underfitting /.test(l)),
    printed,
  );
});

test('a stopCandidate signal stops that candidate; grid mode trains the rest to the end', async () => {
  const { runId, handle } = await stack.lp.startPipeline({ ...base, name: 'wdgrid', search: { mode: 'grid', candidates: [1e-4, 1e-3, 1e-2], concurrency: 1 } }, { store: stack.svc.store });
  const child = stack.lp.client.workflow.getHandle(`${runId}-wd-search`);
  for (let i = 0; i < 200; i++) {
    try {
      await child.describe();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await child.signal('stopCandidate', 'wd2-1.00e-2');
  const live = await child.query<Candidate[]>('candidates');
  assert.equal(live.length, 3);
  await handle.result();
  const { candidates, decisions } = await searchState(runId);
  const stopped = candidates.find((c) => c.id === 'wd2-1.00e-2')!;
  assert.equal(stopped.verdict, 'stopped-by-user');
  assert.ok(decisions.some((d) => d.candidate === stopped.id && d.verdict === 'stopped-by-user'));
  for (const c of candidates.filter((c) => c.id !== stopped.id)) assert.equal(c.epoch, 4, `${c.id} trained to the end`);
});

test('controller: a weight decay that collapses OUI below the band is lowered between chunks', async () => {
  const { runId, handle } = await stack.lp.startPipeline(
    { ...base, name: 'wdctl', train: { ...base.train, weightDecay: 50 }, search: { mode: 'controller', band: [0.02, 0.99], controllerFactor: 100 } },
    { store: stack.svc.store },
  );
  await handle.result();
  const { candidates, decisions } = await searchState(runId);
  const run = candidates[0]!;
  assert.equal(candidates.length, 1);
  assert.equal(run.epoch, 4);
  for (let k = 0; k + 1 < run.epoch; k++) {
    const expected = run.oui[k]! < 0.02 ? Math.max(1e-7, run.weightDecays[k]! / 100) : run.oui[k]! > 0.99 ? run.weightDecays[k]! * 100 : run.weightDecays[k]!;
    assert.equal(run.weightDecays[k + 1], expected, `epoch ${k + 2}: OUI after epoch ${k + 1} was ${run.oui[k]}`);
  }
  const lowered = decisions.filter((d) => d.verdict === 'lower-weight-decay');
  assert.ok(lowered.length >= 1, 'the collapsed run had its weight decay lowered');
  assert.match(lowered[0]!.reason, /weight decay 5\.00e\+1 → 5\.00e-1/);
  assert.ok(run.oui.at(-1)! >= 0.02, `OUI back in the band at the end: ${run.oui.join(', ')}`);
});
