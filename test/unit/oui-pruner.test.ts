import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OuiPruner } from '../../ml/oui-pruner.js';

test('never prunes during warm-up, then prunes on the first out-of-band report with the reason', () => {
  const p = new OuiPruner({ band: [0.6, 0.8], warmupSteps: 3 });
  for (const [step, oui] of [
    [0, 0.1],
    [1, 0.2],
    [2, 0.95],
  ] as const) {
    p.report(step, oui);
    assert.equal(p.shouldPrune(), false, `step ${step}`);
  }
  p.report(3, 0.7);
  assert.equal(p.shouldPrune(), false);
  p.report(4, 0.3);
  assert.deepEqual({ ...p.verdict(), message: undefined }, { prune: true, reason: 'underfitting', step: 4, oui: 0.3, message: undefined });
  const q = new OuiPruner({ warmupSteps: 1 });
  q.report(0, 0.99);
  q.report(1, 0.85);
  assert.equal(q.verdict().reason, 'overfitting');
  assert.match(q.verdict().message, /above the band \[0\.6, 0\.8\]/);
});

test('patience needs consecutive out-of-band reports on the same side', () => {
  const p = new OuiPruner({ warmupSteps: 0, patience: 2 });
  p.report(0, 0.5);
  assert.equal(p.shouldPrune(), false);
  p.report(1, 0.9);
  assert.equal(p.shouldPrune(), false, 'one below, one above');
  p.report(2, 0.85);
  assert.equal(p.verdict().reason, 'overfitting');
  p.report(3, 0.7);
  assert.equal(p.shouldPrune(), false, 'back inside the band');
});

test('bad input is rejected', () => {
  assert.throws(() => new OuiPruner({ band: [0.8, 0.6] }), /band/);
  const p = new OuiPruner();
  p.report(5, 0.5);
  assert.throws(() => p.report(5, 0.5), /step 5 reported after step 5/);
  assert.throws(() => p.report(6, 1.5), /outside \[0, 1\]/);
});
