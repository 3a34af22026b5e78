import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePipelineConfig, INITIALIZER_NAMES } from '../../contracts/config.js';
import { ConfigError } from '../../contracts/errors.js';
import { defaultWidths, glaiFeatureDim, glaiHeadWidths, glaiLayers } from '../../contracts/glai-head.js';
import { makeInitializer } from '../../ml/init/registry.js';

test('defaults fill an empty config', () => {
  const c = parsePipelineConfig({});
  assert.equal(c.model.initializer, 'sinusoidal');
  assert.equal(c.model.hidden, undefined, 'widths are resolved with the run (GLAI or not)');
  assert.deepEqual(defaultWidths('mlp', false), [256, 128]);
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

test('GLAI runs default to a head the one-pass statistics can hold, gated on every hidden layer', () => {
  const c = parsePipelineConfig({ glai: { enabled: true } });
  const widths = glaiHeadWidths({ ...c.model, kind: 'mlp' })!;
  assert.deepEqual(widths, [64, 32]);
  const layers = glaiLayers(c.glai, widths.length);
  assert.deepEqual(layers, { valueLayer: 0, gateLayers: [0, 1] });
  assert.equal(glaiFeatureDim(widths, layers), 65 * 97);
  assert.deepEqual(glaiLayers({ valueLayer: 0, gateLayer: 1 }, 2).gateLayers, [1], 'one named gate layer keeps its meaning');
  assert.deepEqual(glaiHeadWidths({ kind: 'cnn', dense: [16] }), [16]);
});

test('a GLAI run that could not fit its statistics, or has no dense head, is refused before it trains, naming the field', () => {
  const bad: [unknown, RegExp][] = [
    [{ glai: { enabled: true }, model: { hidden: [256, 128] } }, /model\.hidden: GLAI's feature map would have D = 98945 \(A: 74693 MiB.*glai\.maxFeatures = 8192/],
    [{ glai: { enabled: true }, model: { kind: 'cnn', dense: [128] } }, /model\.dense: .*D = 16641/],
    [{ glai: { enabled: true }, model: { kind: 'resnet' } }, /model\.kind: GLAI needs a dense ReLU head/],
    [{ glai: { enabled: true }, model: { kind: 'cnn', dense: [] } }, /model\.dense: GLAI needs at least one dense ReLU layer/],
    [{ glai: { enabled: true, gateLayers: [0, 2] } }, /glai\.gateLayers: layer 2 does not exist: model\.hidden has 2 hidden layer/],
    [{ glai: { enabled: true, valueLayer: 3 } }, /glai\.valueLayer: layer 3 does not exist/],
  ];
  for (const [raw, re] of bad) {
    assert.throws(
      () => parsePipelineConfig(raw, 'g.yaml'),
      (e: Error) => e instanceof ConfigError && re.test(e.message),
      JSON.stringify(raw),
    );
  }
  assert.doesNotThrow(() => parsePipelineConfig({ glai: { enabled: true, maxFeatures: 100_000 }, model: { hidden: [256, 128] } }), "a larger budget is the user's call");
  assert.doesNotThrow(() => parsePipelineConfig({ model: { kind: 'resnet', hidden: [256, 128] } }), 'without GLAI nothing is checked');
});

test('every initializer a config accepts builds a serializable TF.js initializer', () => {
  for (const name of INITIALIZER_NAMES) {
    const init = makeInitializer(name, 1);
    assert.equal(typeof init.getClassName(), 'string', name);
    assert.equal(typeof init.getConfig(), 'object', name);
  }
});
