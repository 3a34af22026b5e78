import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePipelineConfig, ConfigError, INITIALIZER_NAMES } from '../../workflows/config.js';
import { INITIALIZERS } from '../../ml/init/registry.js';

test('defaults fill an empty config', () => {
  const c = parsePipelineConfig({});
  assert.equal(c.model.initializer, 'sinusoidal');
  assert.deepEqual(c.model.hidden, [256, 128]);
  assert.equal(c.oui.pairs, 28);
  assert.equal(c.train.optimizer, 'adamw');
});

test('a bad field is named in the error', () => {
  const bad: [unknown, RegExp][] = [
    [{ train: { epochs: -1 } }, /train\.epochs/],
    [{ model: { initializer: 'zeros' } }, /model\.initializer/],
    [{ train: { epochz: 3 } }, /train.*epochz/],
    [{ oui: { pairs: 1.5 } }, /oui\.pairs/],
  ];
  for (const [raw, re] of bad) {
    assert.throws(() => parsePipelineConfig(raw, 'p.yaml'), (e: Error) => e instanceof ConfigError && re.test(e.message) && e.message.startsWith('p.yaml:'));
  }
});

test('the config accepts exactly the initializers ml/ implements', () => {
  assert.deepEqual([...INITIALIZER_NAMES], [...INITIALIZERS]);
});
