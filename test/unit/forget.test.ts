/**
 * Exact forgetting (METHODS.md §3): subtracting contributions' statistics equals
 * summing the rest afresh to float64 rounding at 10, 50 and 90 % removed; removals
 * that leave fewer samples than D are refused naming the counts; selection by id,
 * site and time, refusing what is not part of the estimator or of another
 * structure; sliding-window expiry; the forget activity on a real local store
 * writes a new estimator listing what remains, with its proof, and links the old one;
 * the report lists contributions and forgets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../ml/rng.js';
import { addStats, emptyStats, type LinearStats } from '../../ml/glai/statistics.js';
import { solveStatistics } from '../../ml/glai/solve.js';
import { checkRemaining, expiredContributions, maxRelativeDifference, relativeDifference, selectContributions, statisticsDifference, subtractStats } from '../../ml/glai/contributions.js';
import { putContribution, withContribution } from '../../activities/contributions.js';
import { forgetStatistics, purgeContributions } from '../../activities/forget.js';
import { InvalidInputError } from '../../contracts/errors.js';
import type { Contribution, ForgetResult } from '../../contracts/forget.js';
import { parsePipelineConfig } from '../../contracts/config.js';
import { buildReport } from '../../cli/report/build.js';
import type { EstimatorRef } from '../../contracts/types.js';
import { encodeBundle, decodeBundle } from '../../storage/bundle.js';
import { openStore, storeForUri } from '../../storage/open.js';

const D = 24;
const K = 4;
const spec = { valueLayer: 0, gateLayer: 1 };

/** Statistics of `n` gated-feature-like rows (non-negative, about half zero, a constant entry), accumulated in float64. */
function statsOf(n: number, seed: number, structureId = 's1'): LinearStats {
  const rng = Rng.fromSeed(seed);
  const s = emptyStats(structureId, spec, D, K);
  const phi = new Float64Array(D);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < D; i++) phi[i] = i === D - 1 ? 1 : rng.next() < 0.5 ? 0 : 3 * rng.next();
    const y = rng.int(K);
    for (let i = 0; i < D; i++) {
      for (let j = 0; j < D; j++) s.a[i * D + j]! += phi[i]! * phi[j]!;
      s.b[i * K + y]! += phi[i]!;
    }
  }
  s.count = n;
  return s;
}

/** Plain ridge at λ = 1e-3 (ml-matrix's Cholesky: the same on every machine). */
const solve = (s: LinearStats) => solveStatistics(s, null, null, { lambda: 1e-3, lambdas: [], prior: 'zero', biasPenalty: 1, biasFeatures: [] }, null).w;

/** Ten parts of 300 samples each, of different content. */
const parts = Array.from({ length: 10 }, (_, k) => statsOf(300, 100 + k));

for (const removedParts of [1, 5, 9]) {
  test(`removing ${removedParts * 10} % of the samples: A_total − A_removed = A_remaining summed afresh, to float64 rounding`, () => {
    const total = addStats(parts);
    const removed = parts.slice(0, removedParts);
    const subtracted = subtractStats(
      total,
      removed,
      removed.map((_, i) => `part ${i}`),
    );
    const fresh = addStats(parts.slice(removedParts));
    assert.equal(subtracted.count, fresh.count);
    const diff = statisticsDifference(subtracted, fresh);
    assert.ok(diff <= 1e-13, `statistics differ by ${diff} relative`);
    const w = relativeDifference(solve(subtracted), solve(fresh));
    assert.ok(w <= 1e-9, `solutions differ by ${w}`);
  });
}

test('a removal that leaves fewer samples than D is refused, naming the counts and D', () => {
  assert.throws(
    () => checkRemaining(100, 90, D),
    (e: Error) => e instanceof InvalidInputError && /forgetting 90 of the estimator's 100 samples would leave 10, fewer than its feature dimension D = 24/.test(e.message),
  );
  checkRemaining(100, 76, D);
});

test('statistics of another structure are refused, naming both', () => {
  assert.throws(() => subtractStats(parts[0]!, [statsOf(10, 1, 's2')], ['contribution x']), /contribution x holds statistics of structure s2, not s1/);
});

test('relative differences: Frobenius and entrywise', () => {
  assert.equal(relativeDifference([1, 2], [1, 2]), 0);
  assert.ok(Math.abs(relativeDifference([3, 4], [0, 5]) - Math.sqrt(10) / 5) < 1e-15);
  assert.equal(maxRelativeDifference([1, 2], [1, 4]), 0.5);
});

const record = (id: string, arrivedAt: string, site: string | null = null, count = 100): Contribution => ({
  id: id.padEnd(64, '0'),
  ref: { uri: `file:///x/${id}`, sha256: id.padEnd(64, '0'), bytes: 1 },
  count,
  source: 'test',
  site,
  arrivedAt,
  structureId: 's1',
});
const list = [record('a', '2026-01-01T00:00:00Z', 'north'), record('b', '2026-01-02T00:00:00Z', 'south'), record('c', '2026-01-03T00:00:00Z', 'north'), record('a', '2026-01-01T00:00:00Z', 'north')];
const ids = (l: Contribution[]) => l.map((c) => c.id[0]).join('');

test('selecting contributions by id (every occurrence), site and time; refusing what matches nothing', () => {
  assert.deepEqual(
    [selectContributions(list, { contributions: [list[0]!.id] }, 'E'), selectContributions(list, { site: 'north' }, 'E'), selectContributions(list, { before: '2026-01-02T12:00:00Z' }, 'E')].map(
      (r) => [ids(r.removed), ids(r.remaining)],
    ),
    [
      ['aa', 'bc'],
      ['aca', 'b'],
      ['aba', 'c'],
    ],
  );
  assert.throws(() => selectContributions(list, { contributions: ['f'.repeat(64)] }, 'E'), /contribution f{64} is not part of estimator E/);
  assert.throws(() => selectContributions(list, { site: 'east' }, 'E'), /site east contributed nothing to estimator E \(its sites: north, south\)/);
  assert.throws(() => selectContributions(list, { before: '2025-01-01T00:00:00Z' }, 'E'), /no contribution of estimator E arrived before 2025-01-01/);
  assert.throws(() => selectContributions(list, { before: 'yesterday' }, 'E'), /before: "yesterday" is not a time/);
  assert.throws(() => selectContributions(list, {}, 'E'), /name what to forget/);
});

test('a sliding window drops all but the last N arrivals, or those older than its age', () => {
  const three = list.slice(0, 3);
  assert.deepEqual(expiredContributions(three, { arrivals: 2 }, 0), [three[0]!.id]);
  assert.deepEqual(expiredContributions(three, { arrivals: 5 }, 0), []);
  assert.deepEqual(expiredContributions(three, { milliseconds: 36 * 3_600_000 }, Date.parse('2026-01-03T00:00:00Z')), [three[0]!.id]);
});

test('forgetStatistics on a local store: new estimator = the rest, proved; the old one stays; foreign and unknown ids refused; purge deletes', async () => {
  const store = await mkdtemp(join(tmpdir(), 'lightpath-forget-'));
  const sites = ['a', 'b', 'c'];
  let acc: { stats: LinearStats; contributions: Contribution[] } | null = null;
  for (const [k, site] of sites.entries()) {
    acc = await withContribution(store, acc && { ...acc, uri: `estimator-${k}` }, statsOf(200 + 100 * k, 7 + k), {
      source: `site ${site} data`,
      site,
    });
  }
  const { a, b, ...shape } = acc!.stats;
  const w = Float32Array.from(solve(acc!.stats));
  const ref = await openStore(store).put(encodeBundle({ meta: { kind: 'glai-estimator', ...shape, lambda: 1e-3, contributions: acc!.contributions }, arrays: { a, b, w } }));
  const estimator: EstimatorRef = { ref, structureId: 's1', count: shape.count, dim: D };

  const out = await forgetStatistics({ store, estimator, select: { site: 'b' }, prove: true });
  assert.deepEqual(
    out.removed.map((c) => c.site),
    ['b'],
  );
  assert.equal(out.estimator.count, 200 + 400);
  assert.ok(out.exactness!.relativeDifference <= 1e-9, `proof: ${out.exactness!.relativeDifference}`);
  const fresh = addStats([statsOf(200, 7), statsOf(400, 9)]);
  const written = decodeBundle(await storeForUri(out.estimator.ref.uri).get(out.estimator.ref), 'new');
  const meta = written.meta as { contributions: Contribution[]; forgot: { removed: string[]; replaces: { uri: string } } };
  assert.ok(maxRelativeDifference(written.arrays.a as Float64Array, fresh.a) <= 1e-13);
  assert.deepEqual(
    meta.contributions.map((c) => c.site),
    ['a', 'c'],
  );
  assert.deepEqual(meta.forgot, { removed: [out.removed[0]!.id], replaces: ref });
  assert.ok(await openStore(store).stat(ref.uri), 'the old estimator stays');

  const foreign = await putContribution(store, statsOf(50, 1, 's2'), { source: 'elsewhere' });
  await assert.rejects(
    forgetStatistics({ store, estimator, select: { contributions: [foreign.id] }, prove: true }),
    new RegExp(`contribution ${foreign.id} holds statistics of structure s2, not this estimator's s1`),
  );
  await assert.rejects(forgetStatistics({ store, estimator, select: { contributions: ['e'.repeat(64)] }, prove: true }), /is not part of estimator/);
  const left = meta.contributions.map((c) => c.id);
  await assert.rejects(forgetStatistics({ store, estimator: out.estimator, select: { contributions: left }, prove: true }), /would leave 0, fewer than its feature dimension D = 24/);

  const purged = await purgeContributions({ store, removed: out.removed });
  assert.deepEqual(purged, [out.removed[0]!.ref.uri]);
  assert.equal(await openStore(store).stat(out.removed[0]!.ref.uri), null);
});

test("the report lists the estimator's contributions and each forget's removals and proof (escaped)", async () => {
  const evil = '<img src=x onerror=alert(1)>';
  const contributions = [record('a', '2026-01-01T00:00:00Z', 'north'), { ...record('b', '2026-01-02T00:00:00Z'), source: evil }];
  const forget: ForgetResult = {
    structure: { id: 's1', model: { model: contributions[0]!.ref, weights: contributions[0]!.ref } },
    estimator: { ref: { uri: 'file:///store/new', sha256: 'c'.repeat(64), bytes: 1 }, structureId: 's1', count: 100, dim: D },
    test: null,
    estimatorAccuracy: 0.8,
    selectorAccuracy: 0.7,
    replaces: { ref: { uri: 'file:///store/old', sha256: 'd'.repeat(64), bytes: 1 }, structureId: 's1', count: 200, dim: D },
    removed: [contributions[0]!],
    remaining: [contributions[1]!],
    exactness: { relativeDifference: 3e-12, statisticsDifference: 1e-16, tolerance: 1e-6 },
    seconds: { subtract: 0.1, solve: 0.2, proof: 0.3 },
    purged: [],
  };
  const manifest = {
    runId: 'run-1',
    workflowId: 'run-1',
    pipeline: 'trainPipeline',
    status: 'completed' as const,
    startedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:01:00.000Z',
    config: parsePipelineConfig({ name: 'unit', glai: { enabled: true } }),
    seed: 1,
    backend: 'cpu',
    versions: {},
    artifacts: [],
    metrics: {},
  };
  const info = { runId: 'forget-1', kind: 'forget' as const, status: 'COMPLETED', startTime: '', closeTime: null, resumedFrom: null, forgets: 'run-1', progress: null, result: forget, failure: null };
  const report = await buildReport({ record: { manifest, manifestUri: 'file:///m.json' }, workflow: null, temporalNote: null, others: [info], contributions, generatedAt: new Date(0) });
  assert.ok(report.sections.includes('contributions'));
  assert.ok(report.html.includes(contributions[0]!.id) && report.html.includes('north'));
  assert.ok(!report.html.includes(evil), 'sources are escaped');
  assert.match(report.html, /forgot 1 contribution\(s\), 100 samples/);
  assert.match(report.html, /3e-12/);
});
