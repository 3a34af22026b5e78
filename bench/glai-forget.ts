/**
 * `npm run bench:glai-forget`: exact forgetting and sliding windows for GLAI on
 * Fashion-MNIST (METHODS.md §3), through the same activities the workflows run
 * (activities/forget.ts on a local store).
 *
 * 1. Forget one of 10 sites: wall time to the new estimator (subtraction, solve,
 *    proof; no data read) and its difference from central training on the 9 others.
 * 2. Numerical care: A_total − A_removed against the remaining sites summed afresh,
 *    at 10, 50 and 90 % removed.
 * 3. Sliding window of 5 arrivals over 20 rounds: each round's time (one pass over
 *    the arrival, add, subtract what left, solve) and, at the end, the difference
 *    from a fresh fit on the window's 5 arrivals.
 *
 * Writes bench/results/glai-forget.json. Not a test.
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../ml/backend/select.js';
import { buildModel, type ModelSpec } from '../ml/models/build.js';
import { trainClassifier } from '../ml/train/trainer.js';
import { loadFashionMnist } from '../ml/data/fashion-mnist.js';
import { imagesToData } from '../ml/data/images.js';
import { Rng } from '../ml/rng.js';
import { modelToParts } from '../ml/models/io.js';
import { selectorWeights, structureId } from '../ml/glai/selector.js';
import { biasFeatures, featureDim, type FeatureSpec } from '../ml/glai/features.js';
import { accumulateStats, addStats, emptyStats, type LinearStats } from '../ml/glai/statistics.js';
import { DEFAULT_SOLVE, solveStatistics, type SolvePlan } from '../ml/glai/solve.js';
import { selectorPrior } from '../ml/glai/prior.js';
import { accuracyOf, linearLogits } from '../ml/glai/estimator.js';
import { maxRelativeDifference, statisticsDifference, subtractStats } from '../ml/glai/contributions.js';
import { putContribution, statsOf, withContribution } from '../activities/contributions.js';
import type { EstimatorMeta } from '../ml/glai/estimator-meta.js';
import { forgetStatistics } from '../activities/forget.js';
import { readBundle } from '../activities/artifacts.js';
import { encodeBundle } from '../storage/bundle.js';
import { openStore } from '../storage/open.js';
import type { Contribution } from '../contracts/forget.js';
import type { EstimatorRef } from '../contracts/types.js';
import type { LabelledData } from '../ml/train/data.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    epochs: { type: 'string', default: '2' },
    hidden: { type: 'string', default: '64,32' },
    lambda: { type: 'string', default: '1e-3' },
    arrival: { type: 'string', default: '2000' },
  },
});
const quick = args.quick!;
const hidden = (quick ? '32,16' : args.hidden!).split(',').map(Number);
const lambda = Number(args.lambda);
const arrival = quick ? 400 : Number(args.arrival);
const SEED = 42;
const outDir = join(import.meta.dirname, 'results');
mkdirSync(outDir, { recursive: true });

const backend = await selectBackend();
const fm = await loadFashionMnist();
const limit = quick ? 12_000 : fm.train.count;
const order = Rng.fromSeed(SEED)
  .shuffle(Int32Array.from({ length: fm.train.count }, (_, i) => i))
  .subarray(0, limit);
const held = quick ? 2000 : 5000;
const train = imagesToData(fm.train, 10, order.subarray(0, limit - held));
const validation = imagesToData(fm.train, 10, order.subarray(limit - held));
const test = imagesToData(fm.test, 10, quick ? Array.from({ length: 2000 }, (_, i) => i) : undefined);
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const rowsOf = (d: LabelledData, from: number, to: number): LabelledData => ({ ...d, x: d.x.subarray(from * d.dim, to * d.dim), y: d.y.subarray(from, to), count: to - from });
const load = () => loadavg()[0]!.toFixed(2);
console.log(`backend ${backend.name}; ${cpus()[0]?.model ?? 'cpu'}; selector 784-${hidden.join('-')}-10; train ${train.count}, validation ${validation.count}, test ${test.count}; load ${load()}`);

const spec: ModelSpec = { kind: 'mlp', hidden, filters: [], dense: [], channels: [], initializer: 'sinusoidal' };
const model = buildModel(spec, [28, 28, 1], 10, SEED);
await trainClassifier(model, train, null, {
  epochs: quick ? 1 : Number(args.epochs),
  batchSize: 128,
  learningRate: 1e-3,
  schedule: { kind: 'cosine', warmupSteps: 0 },
  optimizer: { name: 'adamw', weightDecay: 1e-4, weightDecayMode: 'decoupled' },
  seed: SEED,
  oui: { pairs: 28, every: 0 },
});
const w = selectorWeights(model);
const id = structureId(await modelToParts(model));
const fspec: FeatureSpec = { valueLayer: 0, gateLayer: hidden.length - 1 };
const D = featureDim(w, fspec);
const store = await mkdtemp(join(tmpdir(), 'lightpath-bench-forget-'));

/** One pass of statistics over `data`, from zero. */
const pass = (data: LabelledData) => accumulateStats(emptyStats(id, fspec, D, 10), w, data);

// Solved as a pipeline's estimator is: ridge toward the selector, λ chosen on validation statistics.
const plan: SolvePlan = { ...DEFAULT_SOLVE, lambda, biasFeatures: biasFeatures(w, fspec) };
const prior = await selectorPrior(w, fspec);
const val = await pass(validation);
const solve = (stats: LinearStats) => solveStatistics(stats, val, prior, plan);

/** Stores an estimator the way the fit activity does: statistics, validation statistics, prior, plan, solved weights, its contributions. */
async function putEstimator(stats: LinearStats, contributions: Contribution[]): Promise<EstimatorRef> {
  const { a, b, ...shape } = stats;
  const { w: u, record } = solve(stats);
  const arrays = { a, b, w: Float32Array.from(u), av: val.a, bv: val.b, ...(prior ? { prior } : {}) };
  const ref = await openStore(store).put(encodeBundle({ meta: { kind: 'glai-estimator', ...shape, lambda: record.lambda, plan, solve: record, validationCount: val.count, contributions }, arrays }));
  return { ref, structureId: id, count: stats.count, dim: D };
}

const weightsOf = async (e: EstimatorRef) => (await readBundle(e.ref)).arrays.w as Float32Array;
async function accuracy(u: ArrayLike<number>): Promise<number> {
  const t = tf.tensor2d(Float32Array.from(u), [D, 10]);
  const acc = await accuracyOf(test, (x) => linearLogits(w, fspec, t, x));
  t.dispose();
  return acc;
}

try {
  // 1. Forget one of 10 sites.
  console.log(`\n1. forget one of 10 sites (D = ${D}, ${((D * D * 8) / 2 ** 20).toFixed(1)} MiB of A per contribution)`);
  const per = Math.floor(train.count / 10);
  const sites: LinearStats[] = [];
  const contributions: Contribution[] = [];
  for (let k = 0; k < 10; k++) {
    sites.push(await pass(rowsOf(train, k * per, (k + 1) * per)));
    contributions.push(await putContribution(store, sites[k]!, { source: `site-${k} data`, site: `site-${k}` }));
  }
  const total = addStats(sites);
  const estimator = await putEstimator(total, contributions);
  const t0 = performance.now();
  const forgot = await forgetStatistics({ store, estimator, select: { site: 'site-3' }, prove: true });
  const forgetSeconds = seconds(t0);
  const rest = Array.from({ length: 10 }, (_, k) => k).filter((k) => k !== 3);
  const x = new Float32Array(rest.length * per * train.dim);
  const y = new Int32Array(rest.length * per);
  rest.forEach((k, r) => {
    x.set(train.x.subarray(k * per * train.dim, (k + 1) * per * train.dim), r * per * train.dim);
    y.set(train.y.subarray(k * per, (k + 1) * per), r * per);
  });
  const t1 = performance.now();
  const central = await pass({ ...train, x, y, count: rest.length * per });
  const centralW = solve(central).w;
  const centralSeconds = seconds(t1);
  const forgetW = await weightsOf(forgot.estimator);
  const forgetSite = {
    featureDim: D,
    sites: 10,
    samplesPerSite: per,
    wallSeconds: forgetSeconds,
    seconds: forgot.seconds,
    proofRelativeDifference: forgot.exactness!.relativeDifference,
    weightDifferenceToCentral: maxRelativeDifference(forgetW, centralW),
    accuracy: { forget: await accuracy(forgetW), central: await accuracy(centralW) },
    centralRetrainSeconds: centralSeconds,
    load: load(),
  };
  console.log(
    `  forget site-3: ${forgetSeconds.toFixed(2)} s wall (subtract ${forgot.seconds.subtract.toFixed(2)} s, solve ${forgot.seconds.solve.toFixed(2)} s, proof ${forgot.seconds.proof.toFixed(2)} s); no data read`,
  );
  console.log(
    `  vs central on the 9 others (one pass + solve ${centralSeconds.toFixed(1)} s): max relative weight difference ${forgetSite.weightDifferenceToCentral.toExponential(2)}; proof ${forgetSite.proofRelativeDifference.toExponential(2)}`,
  );
  console.log(`  test accuracy: forget ${(forgetSite.accuracy.forget * 100).toFixed(2)} %, central ${(forgetSite.accuracy.central * 100).toFixed(2)} %; load ${forgetSite.load}`);

  // 2. Numerical care at 10, 50 and 90 % removed.
  console.log('\n2. A_total − A_removed vs the remaining summed afresh');
  const removal = [1, 5, 9].map((n) => {
    const removed = sites.slice(0, n);
    const subtracted = subtractStats(
      total,
      removed,
      removed.map((_, k) => `site-${k}`),
    );
    const difference = statisticsDifference(subtracted, addStats(sites.slice(n)));
    console.log(`  ${n * 10} % removed: relative difference ${difference.toExponential(2)}`);
    return { removedShare: n / 10, relativeDifference: difference };
  });

  // 3. Sliding window of 5 arrivals over 20 rounds.
  console.log(`\n3. sliding window: 5 arrivals of ${arrival} samples, 20 rounds`);
  const rounds: { round: number; seconds: number; passSeconds: number; forgetSeconds: number; samples: number; expired: number }[] = [];
  let current: EstimatorRef | null = null;
  for (let r = 0; r < 20; r++) {
    const from = (r * arrival) % (train.count - arrival);
    const t2 = performance.now();
    const fresh = await pass(rowsOf(train, from, from + arrival));
    const passSeconds = seconds(t2);
    const bundle = current ? await readBundle(current.ref) : null;
    const previous = bundle && { stats: statsOf(bundle), contributions: (bundle.meta as EstimatorMeta).contributions, uri: current!.ref.uri };
    const added = await withContribution(store, previous, fresh, { source: `arrival ${r}`, arrivedAt: new Date(Date.UTC(2026, 0, 1 + r)).toISOString() });
    const fitted = await putEstimator(added.stats, added.contributions);
    const t3 = performance.now();
    const slid = await forgetStatistics({ store, estimator: fitted, window: { window: { arrivals: 5 }, now: new Date().toISOString() }, prove: false });
    const forgetSeconds = seconds(t3);
    current = slid.estimator;
    rounds.push({ round: r + 1, seconds: seconds(t2), passSeconds, forgetSeconds, samples: current.count, expired: slid.removed.length });
    console.log(
      `  round ${String(r + 1).padStart(2)}: ${seconds(t2).toFixed(2)} s (pass ${passSeconds.toFixed(2)} s, slide ${forgetSeconds.toFixed(2)} s); ${current.count} samples in the window; load ${load()}`,
    );
  }
  const lastFive = Array.from({ length: 5 }, (_, k) => 15 + k).map((r) => (r * arrival) % (train.count - arrival));
  const windowStats = addStats(await Promise.all(lastFive.map((from) => pass(rowsOf(train, from, from + arrival)))));
  const windowW = solve(windowStats).w;
  const slidW = await weightsOf(current!);
  const window = {
    arrivals: 5,
    arrivalSamples: arrival,
    rounds,
    weightDifferenceToFresh: maxRelativeDifference(slidW, windowW),
    accuracy: { window: await accuracy(slidW), fresh: await accuracy(windowW) },
  };
  console.log(
    `  after 20 rounds vs a fresh fit on the last 5 arrivals: max relative weight difference ${window.weightDifferenceToFresh.toExponential(2)}; accuracy ${(window.accuracy.window * 100).toFixed(2)} % vs ${(window.accuracy.fresh * 100).toFixed(2)} %`,
  );
  const out = { backend: backend.name, cpu: cpus()[0]?.model ?? null, quick, selector: `784-${hidden.join('-')}-10`, lambda, forgetSite, removal, window };
  writeFileSync(join(outDir, 'glai-forget.json'), `${JSON.stringify(out, null, 1)}\n`);
  console.log(`\nwrote ${join(outDir, 'glai-forget.json')}`);
} finally {
  await rm(store, { recursive: true, force: true });
  model.dispose();
}
