/** The report's charts as Vega-Lite specs (data inline; rendered by svg.ts). */
import type { TopLevelSpec } from 'vega-lite';
import { type EpochMetrics } from '../../contracts/runs.js';
import type { SearchMetrics } from '../../client/run-record.js';

/** A chart's plot width and height (px); wide charts take two widths. */
export const WIDTH = 470;
export const HEIGHT = 210;
/** The report's chart style (font, axes, legend below, titles at the start). */
export const CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom', labelLimit: 320 },
  title: { fontSize: 13, anchor: 'start' },
} as const;

/** An epoch x axis spanning the epochs trained (at least 1–2, so one epoch still gets a scale). */
function epochX(last: number) {
  return { field: 'epoch', type: 'quantitative' as const, title: 'epoch', scale: { domain: [1, Math.max(2, last)] }, axis: { tickMinStep: 1, format: 'd' } };
}

/** The shaded OUI band, a full-width rect layer (no x encoding). */
function bandLayer(band: [number, number]) {
  return {
    data: { values: [{ lo: band[0], hi: band[1] }] },
    mark: { type: 'rect', color: '#4c78a8', opacity: 0.12 },
    encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
  } as const;
}

/** Training loss per epoch. */
export function lossChart(history: EpochMetrics[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Training loss',
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    data: { values: history.map((h) => ({ epoch: h.epoch, loss: h.loss })) },
    mark: { type: 'line', point: true, color: '#e45756' },
    encoding: { x: epochX(history.length), y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } } },
  };
}

/** Train and validation accuracy per epoch. */
export function accuracyChart(history: EpochMetrics[]): TopLevelSpec {
  const values = history.flatMap((h) => [
    { epoch: h.epoch, split: 'train', accuracy: h.trainAccuracy },
    ...(h.valAccuracy === null ? [] : [{ epoch: h.epoch, split: 'validation', accuracy: h.valAccuracy }]),
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Accuracy',
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: epochX(history.length),
      y: { field: 'accuracy', type: 'quantitative', title: 'accuracy', axis: { format: '.0%' }, scale: { zero: false } },
      color: { field: 'split', type: 'nominal', title: null },
    },
  };
}

/** OUI per epoch with the configured band shaded. */
export function ouiChart(history: EpochMetrics[], band: [number, number]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `OUI (band [${band[0]}, ${band[1]}] shaded)`,
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    layer: [
      bandLayer(band),
      {
        data: { values: history.map((h) => ({ epoch: h.epoch, oui: h.oui })) },
        mark: { type: 'line', point: true, color: '#54a24b' },
        encoding: { x: epochX(history.length), y: { field: 'oui', type: 'quantitative', title: 'OUI', scale: { domain: [0, 1] } } },
      },
    ],
  };
}

/** OUI per epoch of every weight-decay candidate (stopped ones dashed), the band shaded. */
export function candidateOuiChart(search: SearchMetrics, band: [number, number]): TopLevelSpec {
  const values = search.candidates.flatMap((c) => c.oui.map((oui, k) => ({ epoch: k + 1, oui, candidate: `${c.id}${c.verdict ? ` (${c.verdict})` : ''}`, stopped: c.status === 'stopped' })));
  const last = Math.max(1, ...search.candidates.map((c) => c.oui.length));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `OUI per weight-decay candidate (band [${band[0]}, ${band[1]}] shaded; dashed: stopped early)`,
    width: WIDTH * 2 + 60,
    height: HEIGHT + 40,
    config: CONFIG,
    layer: [
      bandLayer(band),
      {
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x: epochX(last),
          y: { field: 'oui', type: 'quantitative', title: 'OUI', scale: { domain: [0, 1] } },
          color: { field: 'candidate', type: 'nominal', title: 'candidate', sort: null },
          strokeDash: { field: 'stopped', type: 'nominal', sort: [false, true], legend: null },
        },
      },
    ],
  };
}

/** Pattern vs weight change per epoch on a log scale, with the settle thresholds as dashed rules. */
export function stabilizationChart(history: EpochMetrics[], thresholds: { pattern: number; weight: number }): TopLevelSpec {
  const pattern = 'pattern change (ReLU bits flipped)';
  const weight = 'weight change (relative L2)';
  const values = history.flatMap((h) => [
    ...(h.patternChange && h.patternChange > 0 ? [{ epoch: h.epoch, series: pattern, change: h.patternChange }] : []),
    ...(h.weightChange && h.weightChange > 0 ? [{ epoch: h.epoch, series: weight, change: h.weightChange }] : []),
  ]);
  const color = { field: 'series', type: 'nominal', title: null, scale: { domain: [pattern, weight], range: ['#f58518', '#4c78a8'] } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Structure stabilization (log scale; dashed: settle thresholds)',
    width: WIDTH * 2 + 60,
    height: HEIGHT,
    config: CONFIG,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true },
        encoding: { x: epochX(history.length), y: { field: 'change', type: 'quantitative', title: 'change per epoch', scale: { type: 'log' } }, color },
      },
      {
        data: {
          values: [
            { series: pattern, threshold: thresholds.pattern },
            { series: weight, threshold: thresholds.weight },
          ],
        },
        mark: { type: 'rule', strokeDash: [5, 4] },
        encoding: { y: { field: 'threshold', type: 'quantitative' }, color },
      },
    ],
  };
}

/** One bar of the GLAI accuracy chart. */
export interface GlaiBar {
  model: string;
  kind: 'estimator' | 'selector';
  accuracy: number;
}

/** Test accuracy of each estimator next to its selector's (grouped horizontal bars). */
export function glaiAccuracyChart(bars: GlaiBar[]): TopLevelSpec {
  const models = [...new Set(bars.map((b) => b.model))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'GLAI test accuracy: linear estimator vs its selector',
    width: WIDTH * 2 - 160,
    height: { step: 14 },
    config: CONFIG,
    data: { values: bars },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'model', type: 'nominal', title: null, sort: models, axis: { labelLimit: 300 } },
      yOffset: { field: 'kind', type: 'nominal', sort: ['estimator', 'selector'] },
      x: { field: 'accuracy', type: 'quantitative', title: 'test accuracy', axis: { format: '.0%' }, scale: { domain: [0, 1] } },
      color: { field: 'kind', type: 'nominal', title: null, sort: ['estimator', 'selector'], scale: { range: ['#4c78a8', '#bab0ac'] } },
      tooltip: [{ field: 'model' }, { field: 'kind' }, { field: 'accuracy', format: '.2%' }],
    },
  };
}

/** One GLAI retrain of the updates chart: its workflow id, estimator test accuracy and wall time. */
export interface UpdatePoint {
  update: string;
  accuracy: number;
  seconds: number;
}

/** Estimator test accuracy and wall time of each GLAI retrain, in the order given (oldest first). */
export function updatesChart(points: UpdatePoint[]): TopLevelSpec {
  const x = { field: 'update', type: 'ordinal', title: 'retrain (oldest first)', sort: points.map((p) => p.update), axis: { labelAngle: -30, labelLimit: 160 } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'GLAI updates: estimator accuracy and wall time per retrain',
    config: CONFIG,
    data: { values: points },
    hconcat: [
      {
        width: WIDTH - 40,
        height: HEIGHT,
        mark: { type: 'line', point: true, color: '#4c78a8' },
        encoding: { x, y: { field: 'accuracy', type: 'quantitative', title: 'estimator test accuracy', axis: { format: '.1%' }, scale: { zero: false } } },
      },
      {
        width: WIDTH - 40,
        height: HEIGHT,
        mark: { type: 'bar', color: '#72b7b2' },
        encoding: { x, y: { field: 'seconds', type: 'quantitative', title: 'wall time (s)' } },
      },
    ],
  };
}
