/**
 * Content-addressed preparation, on a real dev server, workers and MinIO: a second run on
 * an unchanged CSV file reuses the first run's prepared splits without reading the source
 * (the run manifest says so), a changed file is prepared again, and a resumed run whose
 * source changed re-prepares instead of reusing the stage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useStack } from '../helpers/services.js';
import { put, tableRows } from '../helpers/data-files.js';
import { storeForUri } from '../../storage/open.js';
import type { RunManifest } from '../../storage/manifest.js';
import type { PipelineResult, PreparedData } from '../../contracts/types.js';

const stack = useStack(['cpu', 'gpu']);

type DataMetrics = { reused: boolean; counts: PreparedData['counts']; content: { key: string; files: number; bytes: number } };

async function dataOf(result: PipelineResult): Promise<{ data: DataMetrics; train: string; runId: string }> {
  const key = result.manifest.replace(/^s3:\/\/[^/]+\//, '');
  const m = JSON.parse(new TextDecoder().decode((await storeForUri(result.manifest).getNamed(key))!)) as RunManifest;
  const train = m.artifacts.find((a) => a.stage === 'prepare' && a.name === 'dataset-train')!.ref.uri;
  return { data: m.metrics.data as DataMetrics, train, runId: result.runId };
}

test('a rerun on unchanged data reuses its prepared splits; a changed file is prepared again', { timeout: 600_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'lp-reuse-'));
  const file = put(root, 'table.csv', tableRows(300, 3).csv);
  const config = { name: 'reuse', data: { source: file }, model: { hidden: [8] }, train: { epochs: 1, batchSize: 32, learningRate: 0.01 } };
  const run = async () => dataOf(await (await stack.lp.startPipeline(config, { store: stack.svc.store })).handle.result());

  const first = await run();
  assert.equal(first.data.reused, false);
  assert.equal(first.data.content.files, 1);
  const second = await run();
  assert.equal(second.data.reused, true, 'unchanged data: the splits are reused');
  assert.equal(second.train, first.train);
  assert.equal(second.data.content.key, first.data.content.key);

  appendFileSync(file, '1.5,120,red,a\n2.5,90,blue,b\n');
  const third = await run();
  assert.equal(third.data.reused, false, 'a changed file is noticed');
  assert.notEqual(third.data.content.key, first.data.content.key);
  assert.equal(third.data.counts.train + third.data.counts.val + third.data.counts.test, 302);

  // Rerunning the first run from its train stage on the changed file re-prepares (the stage key holds the content) instead of reusing its prepare stage.
  const resumed = await (await stack.lp.resumeRun(first.runId, { fromStage: 'train' })).handle.result();
  assert.ok(!resumed.reusedStages.includes('prepare'), `reused stages: ${resumed.reusedStages.join(', ')}`);
  const after = await dataOf(resumed);
  assert.equal(after.data.content.key, third.data.content.key);
  assert.equal(after.train, third.train, 'the splits of the changed file (prepared by the third run) are reused');
  assert.equal(after.data.reused, true);
});
