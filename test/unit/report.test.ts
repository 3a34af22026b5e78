/**
 * The report, metrics and export helpers without services: the report escapes
 * every string it shows (config, decisions, candidate ids, URIs) and links only
 * http(s)/file URIs; sections follow what the run has; metric rows carry each
 * candidate's per-epoch weight decay; TFRecords carry valid masked CRC-32Cs and
 * decode back; lightpath's initializers are swapped for stock ones in exports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '@aws-crypto/crc32c';
import { buildReport } from '../../cli/report/build.js';
import { metricsRows } from '../../cli/metrics/rows.js';
import { EventType, eventFile, maskedCrc32c, readTfRecords, tfRecord } from '../../cli/metrics/tfevents.js';
import { portableTopology } from '../../cli/export/tfjs.js';
import { parsePipelineConfig } from '../../contracts/config.js';
import type { RunManifest } from '../../storage/manifest.js';
import { type EpochMetrics } from '../../contracts/runs.js';

const epoch = (e: number): EpochMetrics => ({
  epoch: e,
  loss: 1 / e,
  trainAccuracy: 0.5 + e / 10,
  valAccuracy: 0.4 + e / 10,
  oui: 0.7,
  seconds: 1,
  samplesPerSecond: 100,
  patternChange: 0.1 / e,
  weightChange: 0.2 / e,
});

function manifest(o: { search?: boolean; hostile?: boolean } = {}): RunManifest {
  const evil = '<img src=x onerror=alert(1)>';
  const config = parsePipelineConfig({ name: 'unit', data: { source: o.hostile ? `/data/${evil}` : 'synthetic' }, train: { epochs: 2 }, search: o.search ? { mode: 'controller' } : undefined });
  const candidate = {
    id: o.hostile ? 'wd0-<b>bold</b>' : 'wd0-1.00e-4',
    weightDecay: 2e-4,
    status: 'finished',
    verdict: 'winner',
    epoch: 2,
    oui: [0.5, 0.7],
    valAccuracy: [0.5, 0.6],
    weightDecays: [1e-4, 2e-4],
    liveEpoch: 2,
    chunks: [],
  };
  return {
    runId: 'run-1',
    workflowId: 'run-1',
    pipeline: 'trainPipeline',
    status: 'completed',
    startedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:01:00.000Z',
    config,
    seed: 42,
    backend: 'cpu',
    versions: { lightpath: '0.1.0' },
    artifacts: [
      { stage: 'train', name: 'model.json', ref: { uri: 'javascript:alert(1)', sha256: 'a'.repeat(64), bytes: 10 }, inputs: { note: evil } },
      { stage: 'train', name: 'weights.bin', ref: { uri: 'https://example.com/w?a=1&b=2', sha256: 'b'.repeat(64), bytes: 20 }, inputs: {} },
    ],
    metrics: {
      history: [epoch(1), epoch(2)],
      testAccuracy: 0.61,
      ...(o.search
        ? {
            weightDecaySearch: {
              mode: 'controller',
              chosenWeightDecay: 2e-4,
              winner: candidate.id,
              epochsSpent: 2,
              candidates: [candidate],
              decisions: [{ epoch: 1, candidate: candidate.id, oui: 0.5, verdict: 'raise-weight-decay', reason: o.hostile ? '</table><script>alert(1)</script>' : 'OUI above the band' }],
            },
          }
        : {}),
      ...(o.hostile ? { error: `failed: ${evil}` } : {}),
    },
  };
}

const report = (m: RunManifest) =>
  buildReport({ record: { manifest: m, manifestUri: 'file:///store/runs/run-1/manifest.json' }, workflow: null, temporalNote: 'not asked', others: [], generatedAt: new Date(0) });

test('report escapes every string it shows and links only http(s) and file URIs', async () => {
  const { html } = await report(manifest({ search: true, hostile: true }));
  assert.doesNotMatch(html, /<script|<img|<b>|<\/table><script/i);
  assert.ok(html.includes('&#60;img src=x onerror=alert(1)&#62;'), 'the config and error text, escaped');
  assert.ok(html.includes('&#60;/table&#62;&#60;script&#62;'), 'the decision reason, escaped');
  assert.doesNotMatch(html, /href="javascript/i);
  assert.ok(html.includes('<code>javascript:alert(1)</code>'), 'a non-web URI is shown, not linked');
  assert.ok(html.includes('<a href="https://example.com/w?a=1&#38;b=2">'), 'an https URI is linked, escaped');
  assert.ok(html.includes('<a href="file:///store/runs/run-1/manifest.json">'), 'the manifest is linked');
});

test('report sections follow what the run has', async () => {
  const plain = await report(manifest());
  assert.deepEqual(plain.sections, ['summary', 'training', 'stabilization', 'artifacts', 'config']);
  assert.equal(plain.charts, 4);
  const searched = await report(manifest({ search: true }));
  assert.deepEqual(searched.sections, ['summary', 'training', 'wd-search', 'stabilization', 'artifacts', 'config']);
  assert.match(searched.html, /1\.00e-4 → 2\.00e-4/, "the controller's weight decay, first → last");
});

test('metric rows: the training, then each candidate epoch with the weight decay it trained with', () => {
  const rows = metricsRows(manifest({ search: true }));
  assert.deepEqual(
    rows.map((r) => [r.tag, r.epoch, r.weightDecay]),
    [
      ['train', 1, 1e-4],
      ['train', 2, 2e-4],
      ['candidate', 1, 1e-4],
      ['candidate', 2, 2e-4],
    ],
  );
  const plain = metricsRows(manifest());
  assert.deepEqual(
    plain.map((r) => r.weightDecay),
    [1e-4, 1e-4],
    'train.weightDecay when there is no search',
  );
});

test('TFRecords: masked CRC-32C of the length and data; events decode back', () => {
  const unmask = (m: number) => {
    const r = (m - 0xa282ead8) >>> 0;
    return ((r >>> 17) | (r << 15)) >>> 0;
  };
  const data = new TextEncoder().encode('123456789');
  assert.equal(unmask(maskedCrc32c(data)), 0xe3069283, 'CRC-32C check value');
  assert.equal(crc32c(data), 0xe3069283);
  const rec = tfRecord(data);
  assert.equal(rec.length, 16 + data.length);
  assert.deepEqual(readTfRecords(rec), [data]);
  const corrupt = rec.slice();
  corrupt[13]! ^= 1;
  assert.throws(() => readTfRecords(corrupt), /bad data CRC/);

  const file = eventFile([{ step: 3, wallTime: 12.5, values: { loss: 0.25, 'accuracy/val': 0, nan: Number.NaN } }], 10);
  const events = readTfRecords(file).map((r) => EventType.toObject(EventType.decode(r), { longs: Number }));
  assert.deepEqual(events, [
    { wallTime: 10, fileVersion: 'brain.Event:2' },
    {
      wallTime: 12.5,
      step: 3,
      summary: {
        value: [
          { tag: 'loss', simpleValue: 0.25 },
          { tag: 'accuracy/val', simpleValue: 0 },
        ],
      },
    },
  ]);
});

test("exports swap lightpath's initializers for GlorotUniform and record them", () => {
  const topology = {
    class_name: 'Sequential',
    config: {
      layers: [
        { class_name: 'Dense', config: { name: 'hidden_0', kernel_initializer: { class_name: 'Sinusoidal', config: { mode: 'glorot' } }, bias_initializer: { class_name: 'Zeros', config: {} } } },
        { class_name: 'Dense', config: { name: 'hidden_1', kernel_initializer: { class_name: 'lsuv', config: { seed: 3 } } } },
        { class_name: 'Dense', config: { name: 'logits', kernel_initializer: { class_name: 'HeNormal', config: { seed: 1 } } } },
      ],
    },
  };
  const { topology: out, replaced } = portableTopology(topology);
  const layers = (out as typeof topology).config.layers;
  assert.deepEqual(layers[0]!.config.kernel_initializer, { class_name: 'GlorotUniform', config: { seed: null } });
  assert.deepEqual(layers[0]!.config.bias_initializer, { class_name: 'Zeros', config: {} });
  assert.deepEqual(layers[2]!.config.kernel_initializer, { class_name: 'HeNormal', config: { seed: 1 } });
  assert.deepEqual(replaced, {
    'hidden_0.kernel_initializer': { class_name: 'Sinusoidal', config: { mode: 'glorot' } },
    'hidden_1.kernel_initializer': { class_name: 'lsuv', config: { seed: 3 } },
  });
});
