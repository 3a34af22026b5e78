/**
 * The report, metrics and export helpers without services: the report escapes
 * every string it shows (config, decisions, candidate ids, URIs) and links only
 * http(s)/file URIs; sections follow what the run has; metric rows carry each
 * candidate's per-epoch weight decay; TFRecords carry valid masked CRC-32Cs and
 * decode back; lightpath's initializers are swapped for stock ones in exports;
 * `--bench` adds the GLAI benchmark's section from a glai.json and refuses a
 * malformed one by name; two or more retrains add the updates chart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '@aws-crypto/crc32c';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { buildReport } from '../../cli/report/build.js';
import { readGlaiBench } from '../../cli/report/bench-data.js';
import { InvalidInputError } from '../../contracts/errors.js';
import type { RunInfo } from '../../contracts/runs.js';
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

/** A small glai.json as `npm run bench:glai` writes it (only the parts the report reads, plus one it ignores). */
const glaiJson = () => ({
  date: '2026-11-30T13:11:18.090Z',
  quick: false,
  load: [4.31, 5.68, 7.87],
  backend: { name: 'wasm+openblas' },
  selector: { hidden: [64, 32], budgets: [10], trainSamples: 50000, validationSamples: 10000, testSamples: 10000 },
  stabilization: {
    every: 50,
    runs: ['cosine', 'constant'].map((schedule) => ({
      schedule,
      series: [1, 2, 3].map((k) => ({ step: 50 * k, patternChange: 0.3 / k, weightChange: 0.2 / k })),
    })),
  },
  incremental: {
    shards: [1, 2].map((shard) => ({ shard, seen: 25000 + 5000 * shard, glaiSeconds: 3, glaiAccuracy: 0.866, dnnSeconds: 18, dnnAccuracy: 0.87 })),
    glaiSeconds: 6,
    dnnSeconds: 36,
    speedup: 6,
    accuracyGapPoints: 0.4,
  },
  merge: { merges: [] },
});

async function benchDir(content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lightpath-bench-'));
  await writeFile(join(dir, 'glai.json'), content);
  return dir;
}

test('--bench: the GLAI benchmark section with both charts, its totals and one row per shard', async () => {
  const bench = await readGlaiBench(await benchDir(JSON.stringify(glaiJson())));
  const r = await buildReport({ record: { manifest: manifest(), manifestUri: 'file:///m.json' }, workflow: null, temporalNote: null, others: [], bench, generatedAt: new Date(0) });
  assert.deepEqual(r.sections, ['summary', 'training', 'stabilization', 'glai-bench', 'artifacts', 'config']);
  assert.equal(r.charts, 6, 'the run’s four, then stabilization curves and incremental');
  const section = r.html.slice(r.html.indexOf('<section id="glai-bench"'), r.html.indexOf('<section id="artifacts"'));
  assert.equal(section.match(/<svg[\s>]/g)?.length, 2);
  assert.match(section, /Pattern vs weight change every 50 steps, normalised by the first/);
  assert.match(section, /Incremental retraining per shard: GLAI update vs DNN retrain/);
  assert.match(section, /<dt>speedup<\/dt><dd>6\.0×<\/dd>/);
  assert.match(section, /<dt>final accuracy gap \(DNN − GLAI\)<\/dt><dd>0\.40 points<\/dd>/);
  assert.match(section, /<dt>load \(1, 5, 15 min\)<\/dt><dd>4\.31, 5\.68, 7\.87<\/dd>/);
  assert.equal(section.match(/<tr><td class="num">\d<\/td><td class="num">\d+<\/td>/g)?.length, 2, 'one row per shard');
});

test('--bench: a missing, unparsable or incomplete glai.json is refused, naming the file and the field', async () => {
  const refused = async (dir: string, field: RegExp) => {
    const file = join(dir, 'glai.json');
    await assert.rejects(readGlaiBench(dir), (e: Error) => {
      assert.ok(e instanceof InvalidInputError);
      assert.equal(e.nonRetryable, true);
      assert.ok(e.message.startsWith(`${file}: `), e.message);
      assert.match(e.message, field);
      return true;
    });
  };
  const incomplete = glaiJson() as Record<string, unknown> & { incremental: Partial<ReturnType<typeof glaiJson>['incremental']> };
  delete incomplete.incremental.speedup;
  await refused(await benchDir(JSON.stringify(incomplete)), /incremental\.speedup/);
  await refused(await benchDir(JSON.stringify({ ...glaiJson(), stabilization: { every: 50, runs: [] } })), /stabilization\.runs/);
  await refused(await benchDir('{"date": '), /not valid JSON/);
  await refused(join(tmpdir(), 'lightpath-no-such-bench'), /cannot read \(ENOENT\)/);
  const cli = spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'report', 'any-run', '--no-temporal', '--bench', join(tmpdir(), 'lightpath-no-such-bench')], { encoding: 'utf8' });
  assert.equal(cli.status, 2, `the CLI exits with the bad-input code: ${cli.stderr}`);
  assert.match(cli.stderr, /^error: .*glai\.json: cannot read \(ENOENT\)/m);
});

const retrain = (id: string, start: string, close: string, estimatorAccuracy: number): RunInfo => ({
  runId: id,
  kind: 'retrain',
  status: 'COMPLETED',
  startTime: start,
  closeTime: close,
  resumedFrom: null,
  progress: null,
  failure: null,
  result: { structure: { id: 's'.repeat(64) }, estimator: { count: 100 }, test: null, estimatorAccuracy, selectorAccuracy: 0.8, added: 50 },
});

test('retrains given with --with: their wall times, and the updates chart once there are two', async () => {
  const build = (others: RunInfo[]) => buildReport({ record: { manifest: manifest(), manifestUri: 'file:///m.json' }, workflow: null, temporalNote: null, others, generatedAt: new Date(0) });
  const second = retrain('retrain-b', '2026-01-02T00:00:00.000Z', '2026-01-02T00:00:12.500Z', 0.83);
  const first = retrain('retrain-a', '2026-01-01T00:00:00.000Z', '2026-01-01T00:01:30.000Z', 0.81);
  const one = await build([first]);
  assert.equal(one.charts, 5, "the run's four and the GLAI accuracy bars");
  assert.match(one.html, /<td>retrain-a<\/td>.*?<td class="num">100<\/td><td>81\.00 %<\/td><td>80\.00 %<\/td><td>90<\/td>/);
  const two = await build([second, first]);
  assert.equal(two.charts, 6, 'and the updates chart');
  assert.match(two.html, /GLAI updates: estimator accuracy and wall time per retrain/);
  assert.match(two.html, /<td>retrain-b<\/td>.*?<td>12\.5<\/td>/);
});
