/**
 * `weightDecaySearch`: OUI-driven weight decay (METHODS.md §2) as a durable workflow.
 *
 * Every candidate starts from the same initialized weights and trains in chunks (one
 * activity per chunk on `lightpath-gpu`, checkpointing and heartbeating), at most
 * `concurrency` at a time. After each chunk round the rule reads each candidate's
 * latest epoch OUI:
 *
 * - before `warmupEpochs` nobody is stopped;
 * - a candidate whose OUI is outside the band is stopped as under- (below) or
 *   overfitting (above);
 * - when more than `keep` survive, the `keep` closest to the band's centre stay and
 *   the others are stopped once their OUI changed by less than `stability` over the
 *   last chunk;
 * - once `keep` remain, they continue from their checkpoints to the full budget.
 *
 * `grid` mode trains every candidate to the end (the baseline); `controller` mode
 * trains one run and steers its weight decay between chunks (lower when OUI is below
 * the band, higher above, multiplicative steps within [floor, ceiling]). Every
 * decision goes into a decision log. Worker loss costs at most the unfinished epoch:
 * chunk activities resume from their last checkpoint.
 */
import { setHandler } from '@temporalio/workflow';
import type { PipelineConfig } from '../contracts/config.js';
import type { Candidate, Decision } from '../contracts/search.js';
import { candidatesQuery, decisionsQuery, setBandSignal, setWeightDecaySignal, stopCandidateSignal, stopSearchSignal, trainingProgressSignal } from '../contracts/signals.js';
import { cpuActivities, trainingActivities } from './activities.js';
import { ouiBandVerdict } from '../ml/oui-pruner.js';
import type { ModelRefs, PreparedData, TrainResult } from '../contracts/types.js';
import { type EpochMetrics } from '../contracts/runs.js';

/** Input of `weightDecaySearch`. */
export interface WeightDecaySearchInput {
  store: string;
  runId: string;
  data: PreparedData;
  initial: ModelRefs;
  config: PipelineConfig;
}

/** Result: the chosen candidate, every candidate, the decision log and the epochs spent. */
export interface WeightDecaySearchResult {
  mode: PipelineConfig['search']['mode'];
  winner: Candidate;
  training: TrainResult;
  candidates: Candidate[];
  decisions: Decision[];
  epochsSpent: number;
}

const formatWd = (wd: number) => wd.toExponential(2);

export async function weightDecaySearch(input: WeightDecaySearchInput): Promise<WeightDecaySearchResult> {
  const { config } = input;
  const s = config.search;
  const budget = config.train.epochs;
  const warmup = s.warmupEpochs ?? Math.max(1, Math.ceil(budget / 10));
  let band = s.band;
  let stopAll = false;
  const decisions: Decision[] = [];
  const wds = s.mode === 'controller' ? [config.train.weightDecay] : s.candidates;
  const candidates: Candidate[] = wds.map((wd, k) => ({
    id: `wd${k}-${formatWd(wd)}`,
    weightDecay: wd,
    status: 'waiting',
    verdict: null,
    epoch: 0,
    oui: [],
    valAccuracy: [],
    checkpoint: null,
    model: null,
    weightDecays: [],
    liveEpoch: 0,
    chunks: [],
  }));
  const userStops = new Set<string>();
  setHandler(candidatesQuery, () => candidates);
  setHandler(decisionsQuery, () => decisions);
  setHandler(stopCandidateSignal, (id) => void userStops.add(id));
  setHandler(stopSearchSignal, () => void (stopAll = true));
  setHandler(trainingProgressSignal, (p) => {
    const c = candidates.find((x) => x.id === p.tag);
    if (c) c.liveEpoch = Math.max(c.liveEpoch, p.epoch);
  });
  setHandler(setWeightDecaySignal, (wd) => {
    const c = candidates[0]!;
    decisions.push({ epoch: c.epoch, candidate: c.id, oui: c.oui.at(-1) ?? null, verdict: 'set-weight-decay', reason: `user set weight decay ${formatWd(c.weightDecay)} → ${formatWd(wd)}` });
    c.weightDecay = wd;
  });
  setHandler(setBandSignal, (b) => {
    decisions.push({ epoch: Math.max(...candidates.map((c) => c.epoch)), candidate: '*', oui: null, verdict: 'set-band', reason: `user set band [${band.join(', ')}] → [${b.join(', ')}]` });
    band = b;
  });

  const gpu = trainingActivities(config.execution);

  const concurrency = await searchConcurrency(s.concurrency, decisions);
  const results = new Map<string, TrainResult>();
  let epochsSpent = 0;
  const runChunk = async (c: Candidate, until: number) => {
    c.status = 'running';
    const r = await gpu.trainModel({
      store: input.store,
      runId: input.runId,
      data: input.data,
      initial: input.initial,
      train: { ...config.train, weightDecay: c.weightDecay },
      oui: config.oui,
      stability: { ...config.glai.stabilization, freezeAfter: 0 },
      seed: config.seed,
      from: c.checkpoint,
      untilEpoch: until,
      tag: c.id,
    });
    const fresh: EpochMetrics[] = r.history.slice(c.epoch);
    epochsSpent += fresh.length;
    for (const m of fresh) {
      c.oui.push(m.oui);
      c.valAccuracy.push(m.valAccuracy);
      c.weightDecays.push(c.weightDecay);
    }
    c.epoch = r.history.length;
    c.chunks.push({ until, attempt: r.attempt, resumedFromEpoch: r.resumedFromEpoch });
    c.checkpoint = r.checkpoint;
    c.model = r.model;
    results.set(c.id, r);
    if (c.status === 'running') c.status = c.epoch >= budget ? 'finished' : 'waiting';
  };
  /** Runs `fn` over `items`, at most `limit` at a time. */
  const pool = async <T>(items: T[], limit: number, fn: (t: T) => Promise<void>) => {
    const queue = [...items];
    await Promise.all(
      Array.from({ length: Math.min(limit, items.length) }, async () => {
        for (let t = queue.shift(); t !== undefined; t = queue.shift()) await fn(t);
      }),
    );
  };
  const stop = (c: Candidate, verdict: Candidate['verdict'], reason: string) => {
    c.status = 'stopped';
    c.verdict = verdict;
    decisions.push({ epoch: c.epoch, candidate: c.id, oui: c.oui.at(-1) ?? null, verdict: verdict!, reason });
  };
  const centre = () => (band[0] + band[1]) / 2;
  const distance = (c: Candidate) => Math.abs((c.oui.at(-1) ?? 0) - centre());
  const active = () => candidates.filter((c) => c.status === 'waiting' || c.status === 'running');

  let boundary = 0;
  while (boundary < budget && active().length > 0 && !stopAll) {
    const searching = s.mode === 'search' && active().length > s.keep;
    if (s.mode === 'search' && !searching) break;
    boundary = Math.min(budget, boundary + s.chunkEpochs);
    await pool(active(), concurrency, (c) => runChunk(c, boundary));
    for (const c of active()) {
      if (userStops.has(c.id)) stop(c, 'stopped-by-user', 'stopped by a signal');
    }
    if (s.mode === 'controller') {
      const c = candidates[0]!;
      const oui = c.oui.at(-1)!;
      const verdict = ouiBandVerdict(oui, band);
      if (verdict && boundary < budget) {
        const before = c.weightDecay;
        const next = verdict === 'underfitting' ? before / s.controllerFactor : before * s.controllerFactor;
        c.weightDecay = Math.min(s.ceiling, Math.max(s.floor, next));
        decisions.push({
          epoch: c.epoch,
          candidate: c.id,
          oui,
          verdict: verdict === 'underfitting' ? 'lower-weight-decay' : 'raise-weight-decay',
          reason: `OUI ${oui.toFixed(3)} ${verdict === 'underfitting' ? 'below' : 'above'} [${band.join(', ')}]: weight decay ${formatWd(before)} → ${formatWd(c.weightDecay)}`,
        });
      }
      continue;
    }
    if (!searching || boundary < warmup) continue;
    for (const c of active()) {
      const oui = c.oui.at(-1)!;
      const verdict = ouiBandVerdict(oui, band);
      if (verdict) stop(c, verdict, `OUI ${oui.toFixed(3)} ${verdict === 'underfitting' ? 'below' : 'above'} the band [${band.join(', ')}] at epoch ${c.epoch}`);
    }
    const survivors = active().sort((a, b) => distance(a) - distance(b));
    for (const c of survivors.slice(s.keep)) {
      const change = c.oui.length >= 2 ? Math.abs(c.oui.at(-1)! - c.oui.at(-2)!) : Infinity;
      if (change < s.stability) stop(c, 'outranked', `OUI ${c.oui.at(-1)!.toFixed(3)} stable (Δ ${change.toFixed(3)}) and farther from the band centre ${centre()} than the ${s.keep} kept`);
    }
  }

  const trained = candidates.filter((c) => c.model);
  let finalists = candidates.filter((c) => c.status !== 'stopped' && c.model);
  if (s.mode === 'search' && finalists.length === 0 && !stopAll) {
    const closest = [...trained].sort((a, b) => distance(a) - distance(b))[0]!;
    decisions.push({
      epoch: closest.epoch,
      candidate: closest.id,
      oui: closest.oui.at(-1) ?? null,
      verdict: 'revived',
      reason: `no candidate stayed in the band; the one closest to its centre ${centre()} is resumed`,
    });
    finalists = [closest];
  }
  if (s.mode === 'search' && !stopAll) {
    const unfinished = finalists.filter((c) => c.epoch < budget);
    for (const c of unfinished) {
      decisions.push({ epoch: c.epoch, candidate: c.id, oui: c.oui.at(-1) ?? null, verdict: 'continue', reason: `continues from its epoch-${c.epoch} checkpoint to epoch ${budget}` });
      c.status = 'waiting';
    }
    await pool(unfinished, concurrency, (c) => runChunk(c, budget));
  }
  const byAccuracy = (a: Candidate, b: Candidate) => lastAcc(b) - lastAcc(a);
  const winner = stopAll ? [...trained].sort((a, b) => distance(a) - distance(b))[0]! : [...(finalists.length ? finalists : trained)].sort(byAccuracy)[0]!;
  winner.verdict = 'winner';
  const why = stopAll
    ? 'search stopped by a signal: OUI closest to the band centre so far'
    : s.mode === 'grid'
      ? 'best final validation accuracy of the grid'
      : s.mode === 'controller'
        ? 'the controlled run'
        : `kept in the band, best final validation accuracy of the ${finalists.length} kept`;
  decisions.push({ epoch: winner.epoch, candidate: winner.id, oui: winner.oui.at(-1) ?? null, verdict: 'winner', reason: why });
  return { mode: s.mode, winner, training: results.get(winner.id)!, candidates, decisions, epochsSpent };
}

/** The configured concurrency, or the GPU workers' training slots (logged as a decision). */
async function searchConcurrency(configured: number | undefined, decisions: Decision[]): Promise<number> {
  if (configured !== undefined) return configured;
  const cpu = cpuActivities({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 5 } });
  const { slots, workers } = await cpu.trainingSlots();
  decisions.push({ epoch: 0, candidate: '*', oui: null, verdict: 'concurrency', reason: `${slots} candidate(s) at once: the training slots of ${workers} GPU worker(s) polling` });
  return slots;
}

/** Final validation accuracy of a candidate (0 when it has none). */
function lastAcc(c: Candidate): number {
  return c.valAccuracy.at(-1) ?? 0;
}
