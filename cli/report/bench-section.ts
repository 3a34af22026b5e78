/** The report's "GLAI benchmark" section (`--bench <dir>`): glai.json's two charts, its facts and the per-shard table. */
import type { TopLevelSpec } from 'vega-lite';
import type { GlaiBench } from './bench-data.js';
import { benchIncrementalChart, benchStabilizationChart } from './bench-charts.js';
import { facts, num, pct, table, type Cell, type Section } from './html.js';

/** Seconds with one decimal, or null. */
const secs = (v: number | undefined): string | null => (v === undefined ? null : `${v.toFixed(1)} s`);

/** The section: when and under what load it ran, incremental totals, both charts, one row per shard. */
export async function benchSection(input: { file: string; bench: GlaiBench }, charts: (spec: TopLevelSpec) => Promise<string>): Promise<Section> {
  const b = input.bench;
  const inc = b.incremental;
  const sel = b.selector;
  const svgs = await Promise.all([benchStabilizationChart(b.stabilization), benchIncrementalChart(inc.shards)].map(charts));
  const items: [string, Cell][] = [
    ['file', input.file],
    ['date', b.date],
    ['load (1, 5, 15 min)', b.load ? b.load.map((l) => l.toFixed(2)).join(', ') : null],
    ['backend', b.backend?.name ?? null],
    ['selector', sel ? `MLP, hidden [${sel.hidden.join(', ')}], ${sel.trainSamples} training samples, ${sel.testSamples} test${b.quick ? ' (--quick)' : ''}` : null],
    [
      'one-time base',
      inc.baseTrainSeconds === undefined
        ? null
        : `selector ${inc.baseEpochs ?? '?'} epochs ${secs(inc.baseTrainSeconds)} → ${pct(inc.baseAccuracy) ?? 'n/a'}; statistics + solve ${secs(inc.baseGlaiSeconds) ?? 'n/a'}`,
    ],
    ['GLAI updates, all shards', secs(inc.glaiSeconds)],
    ['DNN retrains, all shards', secs(inc.dnnSeconds)],
    ['speedup', `${inc.speedup.toFixed(1)}×`],
    ['final accuracy gap (DNN − GLAI)', `${inc.accuracyGapPoints.toFixed(2)} points${inc.meanGapPoints === undefined ? '' : ` (mean over shards ${inc.meanGapPoints.toFixed(2)})`}`],
  ];
  const rows = inc.shards.map((r): Cell[] => [
    r.shard,
    r.seen,
    num(r.glaiSeconds, 3),
    num(r.accumulateSeconds, 3),
    num(r.solveSeconds, 3),
    r.lambda ?? null,
    r.solves ?? null,
    pct(r.glaiAccuracy),
    num(r.dnnSeconds, 3),
    pct(r.dnnAccuracy),
    ((r.dnnAccuracy - r.glaiAccuracy) * 100).toFixed(2),
  ]);
  const shards = table(['shard', 'samples seen', 'GLAI s', 'statistics s', 'solve s', 'λ', 'solves', 'GLAI acc', 'DNN retrain s', 'DNN acc', 'gap (points)'], rows);
  return { id: 'glai-bench', title: 'GLAI benchmark', body: `${facts(items)}<div class="charts">${svgs.join('')}</div>${shards}` };
}
