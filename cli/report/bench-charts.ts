/**
 * The GLAI benchmark's charts (`npm run bench:glai` writes them as SVG files; `lightpath
 * report --bench` inlines them), as Vega-Lite specs built from glai.json's shapes.
 */
import type { TopLevelSpec } from 'vega-lite';
import { CONFIG, HEIGHT, WIDTH } from './charts.js';
import type { GlaiBenchShard, GlaiBenchStabilization } from './bench-data.js';

/**
 * Pattern vs weight change every `every` optimiser steps, each curve divided by its first
 * value (METHODS.md §3, as arXiv 2602.08333 measures stabilization), one dash per schedule, log y.
 */
export function benchStabilizationChart(s: GlaiBenchStabilization): TopLevelSpec {
  const pattern = 'pattern change (ReLU bits flipped)';
  const weight = 'weight change (relative L2)';
  const values = s.runs.flatMap((run) => {
    const first = run.series[0]!;
    return run.series.flatMap((p) => [
      { step: p.step, series: pattern, schedule: `${run.schedule} lr`, change: p.patternChange / first.patternChange },
      { step: p.step, series: weight, schedule: `${run.schedule} lr`, change: p.weightChange / first.weightChange },
    ]);
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Pattern vs weight change every ${s.every} steps, normalised by the first (log scale)`,
    width: WIDTH * 2 + 60,
    height: HEIGHT + 60,
    config: CONFIG,
    data: { values: values.filter((v) => Number.isFinite(v.change) && v.change > 0) },
    mark: { type: 'line' },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'optimiser step' },
      y: { field: 'change', type: 'quantitative', scale: { type: 'log' }, title: 'change / first change' },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: [pattern, weight], range: ['#f58518', '#4c78a8'] } },
      strokeDash: { field: 'schedule', type: 'nominal', title: null },
    },
  };
}

/** Per shard: wall time (log) and test accuracy of the GLAI update vs retraining the DNN on every sample seen. */
export function benchIncrementalChart(shards: GlaiBenchShard[]): TopLevelSpec {
  const values = shards.flatMap((r) => [
    { seen: r.seen, method: 'GLAI update', seconds: r.glaiSeconds, accuracy: r.glaiAccuracy },
    { seen: r.seen, method: 'DNN retrain', seconds: r.dnnSeconds, accuracy: r.dnnAccuracy },
  ]);
  const x = { field: 'seen', type: 'quantitative', title: 'samples seen', scale: { zero: false } } as const;
  const color = { field: 'method', type: 'nominal', title: null, sort: ['GLAI update', 'DNN retrain'] } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Incremental retraining per shard: GLAI update vs DNN retrain',
    config: CONFIG,
    data: { values },
    hconcat: [
      {
        width: WIDTH - 40,
        height: HEIGHT + 40,
        mark: { type: 'line', point: true },
        encoding: { x, y: { field: 'seconds', type: 'quantitative', scale: { type: 'log' }, title: 'wall time (s, log scale)' }, color },
      },
      {
        width: WIDTH - 40,
        height: HEIGHT + 40,
        mark: { type: 'line', point: true },
        encoding: { x, y: { field: 'accuracy', type: 'quantitative', scale: { zero: false }, title: 'test accuracy', axis: { format: '.1%' } }, color },
      },
    ],
  };
}
