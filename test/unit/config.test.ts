import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePipelineConfig, INITIALIZER_NAMES } from '../../contracts/config.js';
import { ConfigError } from '../../contracts/errors.js';
import { makeInitializer } from '../../ml/init/registry.js';

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
    assert.throws(
      () => parsePipelineConfig(raw, 'p.yaml'),
      (e: Error) => e instanceof ConfigError && re.test(e.message) && e.message.startsWith('p.yaml:'),
    );
  }
});

test('every initializer a config accepts builds a serializable TF.js initializer', () => {
  for (const name of INITIALIZER_NAMES) {
    const init = makeInitializer(name, 1);
    assert.equal(typeof init.getClassName(), 'string', name);
    assert.equal(typeof init.getConfig(), 'object', name);
  }
});
