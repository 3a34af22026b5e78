/**
 * The run report: one self-contained HTML page (inline CSS and SVG charts, no
 * scripts, no external resources) built from a run's manifest, plus what Temporal
 * says about the run and about any GLAI retrain/merge workflows given with it.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { PipelineConfig } from '../../contracts/config.js';
import type { GlaiOutcome, PipelineResult, SiteOutcome } from '../../contracts/types.js';
import type { Contribution, ForgetResult } from '../../contracts/forget.js';
import { runConfig, runMetrics, type RunMetrics, type RunRecord, type SearchMetrics } from '../../client/run-record.js';
import { type RunInfo } from '../../contracts/runs.js';
import { accuracyChart, candidateOuiChart, glaiAccuracyChart, lossChart, ouiChart, stabilizationChart, updatesChart, type GlaiBar, type UpdatePoint } from './charts.js';
import { esc, facts, num, page, pct, table, uriHtml, type Cell, type Section } from './html.js';
import { renderSvg } from './svg.js';
import { glaiHeadWidths, glaiLayers } from '../../contracts/glai-head.js';
import type { GlaiBench } from './bench-data.js';
import { benchSection } from './bench-section.js';

/** What a report is built from. */
export interface ReportInput {
  record: RunRecord;
  /** The run's own workflow; null when Temporal was not asked or did not answer (`temporalNote` says why). */
  workflow: RunInfo | null;
  temporalNote: string | null;
  /** GLAI retrain/merge (or other pipeline) workflows to show next to the run's own estimator. */
  others: RunInfo[];
  /** The contributions the run's estimator sums (its manifest's list), when read. */
  contributions?: Contribution[] | null;
  /** A GLAI benchmark result (`--bench`: glai.json, read and validated by bench-data.ts) to show in its own section. */
  bench?: { file: string; bench: GlaiBench } | null;
  generatedAt: Date;
}

/** The page and what it holds. */
export interface Report {
  html: string;
  sections: string[];
  charts: number;
}

/** A GLAI-producing workflow's outcome (pipeline, retrain or merge), with the extras retrain and merge return. */
type GlaiResult = GlaiOutcome & { added?: number; merged?: number; sites?: SiteOutcome[] } & Partial<Pick<ForgetResult, 'removed' | 'remaining' | 'exactness' | 'replaces'>>;

/** The GLAI outcome in a workflow's result, or null (not completed, or no GLAI). */
function glaiOf(w: RunInfo): GlaiResult | null {
  const r = w.result as (PipelineResult | GlaiResult) | null;
  if (!r) return null;
  return 'runId' in r ? r.glai : r;
}

/** A closed workflow's wall time in seconds (start to close, as Temporal records them), or null while open. */
function wallSeconds(w: RunInfo): number | null {
  return w.closeTime ? (Date.parse(w.closeTime) - Date.parse(w.startTime)) / 1000 : null;
}

/** Renders a chart to SVG (and counts it). */
type Render = (spec: TopLevelSpec) => Promise<string>;

/** Builds the report page. */
export async function buildReport(input: ReportInput): Promise<Report> {
  const m = input.record.manifest;
  const metrics = runMetrics(m);
  const config = runConfig(m);
  let rendered = 0;
  const charts: Render = (spec) => (rendered++, renderSvg(spec));
  const sections: Section[] = [summarySection(input, metrics)];
  if (metrics.history.length) {
    const h = metrics.history;
    const svgs = await Promise.all([lossChart(h), accuracyChart(h), ouiChart(h, config.search.band)].map(charts));
    sections.push({ id: 'training', title: 'Training', body: `<div class="charts">${svgs.join('')}</div>${epochTable(metrics)}` });
  }
  if (metrics.search) sections.push({ id: 'wd-search', title: 'Weight-decay search', body: await searchBody(metrics.search, config.search.band, charts) });
  if (metrics.history.some((h) => h.patternChange !== undefined || h.weightChange !== undefined)) {
    sections.push({ id: 'stabilization', title: 'Structure stabilization', body: await stabilizationBody(metrics, config.glai.stabilization, charts) });
  }
  if (metrics.glai || input.others.length) sections.push({ id: 'glai', title: 'GLAI', body: await glaiBody(input, metrics, charts) });
  const forgets = input.others.filter((w) => w.kind === 'forget');
  if (input.contributions?.length || forgets.length) sections.push({ id: 'contributions', title: 'Contributions and forgets', body: contributionsBody(input.contributions ?? [], forgets) });
  if (input.bench) sections.push(await benchSection(input.bench, charts));
  sections.push({ id: 'artifacts', title: 'Artifacts', body: artifactsBody(input.record) });
  sections.push({ id: 'config', title: 'Config', body: `<details><summary>pipeline config (defaults filled in)</summary><pre>${esc(JSON.stringify(m.config, null, 2))}</pre></details>` });
  const status = `<span class="status-${esc(m.status)}">${esc(m.status)}</span>`;
  const html = page({
    title: `lightpath run ${m.runId}`,
    subtitle: `${esc(m.pipeline)} · ${status} · started ${esc(m.startedAt)} · test accuracy ${esc(pct(metrics.testAccuracy) ?? 'n/a')}`,
    sections,
    footer: `lightpath report, generated ${input.generatedAt.toISOString()} from ${input.record.manifestUri} (written by lightpath ${m.versions?.lightpath ?? '?'})`,
  });
  return { html, sections: sections.map((s) => s.id), charts: rendered };
}

function summarySection(input: ReportInput, x: RunMetrics): Section {
  const m = input.record.manifest;
  const c = runConfig(m);
  const w = input.workflow;
  const widths = (c.model.kind ?? 'mlp') === 'mlp' ? (c.model.hidden ?? []) : c.model.kind === 'cnn' ? [...c.model.filters, ...(c.model.dense ?? [])] : c.model.channels;
  const items: [string, Cell][] = [
    ['run', m.runId],
    ['pipeline', m.pipeline],
    ['manifest status', { html: `<span class="status-${esc(m.status)}">${esc(m.status)}</span>` }],
    ['workflow (Temporal)', w ? `${w.kind} ${w.status}${w.closeTime ? ` at ${w.closeTime}` : ''}` : input.temporalNote],
    ['started', m.startedAt],
    ['manifest updated', m.updatedAt],
    ['backend', m.backend],
    ['seed', m.seed],
    ['data', `${c.data.source}${c.data.trainLimit ? ` (train limit ${c.data.trainLimit})` : ''}, validation ${c.data.validationSize ?? 'default (10 %, at most 5000)'}`],
    ['model', `${c.model.kind ?? 'from the data'} [${widths.join(', ')}], ${c.model.initializer} init${x.parameters === null ? '' : `, ${x.parameters.toLocaleString('en')} parameters`}`],
    [
      'training',
      `${c.train.optimizer} lr ${c.train.learningRate} (${c.train.schedule}), batch ${c.train.batchSize}, weight decay ${x.search ? `${x.search.chosenWeightDecay.toExponential(2)} (chosen by the ${x.search.mode})` : c.train.weightDecay} (${c.train.weightDecayMode}); ${x.history.length}/${c.train.epochs} epochs`,
    ],
    ['test accuracy', pct(x.testAccuracy)],
    ['train attempts', x.trainAttempts === null ? null : `${x.trainAttempts}${x.trainAttempts > 1 && x.resumedFromEpoch ? ` (the last resumed from its epoch-${x.resumedFromEpoch} checkpoint)` : ''}`],
    [
      'versions',
      Object.entries(m.versions ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
  ];
  if (x.error) items.push(['error', x.error]);
  return { id: 'summary', title: 'Summary', body: facts(items) };
}

function epochTable(x: RunMetrics): string {
  const stab = x.history.some((h) => h.patternChange !== undefined);
  const head = ['epoch', 'loss', 'train acc', 'val acc', 'OUI', ...(stab ? ['pattern Δ', 'weight Δ'] : []), 'seconds', 'samples/s'];
  const rows = x.history.map((h): Cell[] => [
    h.epoch,
    num(h.loss),
    pct(h.trainAccuracy),
    pct(h.valAccuracy),
    num(h.oui, 3),
    ...(stab ? [num(h.patternChange, 3), num(h.weightChange, 3)] : []),
    num(h.seconds, 3),
    Math.round(h.samplesPerSecond),
  ]);
  return table(head, rows);
}

async function stabilizationBody(x: RunMetrics, st: PipelineConfig['glai']['stabilization'], charts: Render): Promise<string> {
  const svg = await charts(stabilizationChart(x.history, { pattern: st.threshold, weight: st.weightThreshold }));
  const at = (e: number | null) => (e === null ? 'not within the run' : `epoch ${e}`);
  const items: [string, Cell][] = [
    ['pattern settle threshold', num(st.threshold)],
    ['weight settle threshold', num(st.weightThreshold)],
    ['probe samples', st.probe],
  ];
  const settled = x.glai?.stabilization;
  if (settled)
    items.push(
      ['structure settled', at(settled.patternSettledEpoch)],
      ['weights settled', at(settled.weightSettledEpoch)],
      ['structure frozen early', settled.frozenAtEpoch === null ? 'no' : `training stopped at epoch ${settled.frozenAtEpoch}`],
    );
  return `${facts(items)}<div class="charts">${svg}</div>`;
}

async function searchBody(s: SearchMetrics, band: [number, number], charts: Render): Promise<string> {
  const wd = (v: number) => v.toExponential(2);
  const summary = facts([
    ['mode', s.mode],
    ['chosen weight decay', wd(s.chosenWeightDecay)],
    ['winner', s.winner],
    ['training epochs spent', s.epochsSpent],
    ['OUI band (config)', `[${band[0]}, ${band[1]}]`],
  ]);
  const rows = s.candidates.map((c): Cell[] => {
    const first = c.weightDecays[0] ?? c.weightDecay;
    return [c.id, first === c.weightDecay ? wd(c.weightDecay) : `${wd(first)} → ${wd(c.weightDecay)}`, c.status, c.verdict, c.epoch, num(c.oui.at(-1), 3), pct(c.valAccuracy.at(-1))];
  });
  const candidates = table(['candidate', 'weight decay', 'status', 'verdict', 'epochs', 'final OUI', 'final val acc'], rows, (i) => (s.candidates[i]!.id === s.winner ? 'winner' : null));
  const svg = await charts(candidateOuiChart(s, band));
  const decisions = table(
    ['epoch', 'candidate', 'OUI', 'decision', 'reason'],
    s.decisions.map((d) => [d.epoch, d.candidate, num(d.oui, 3), d.verdict, d.reason]),
  );
  return `${summary}${candidates}<div class="charts">${svg}</div><h3>Decision log</h3>${decisions}`;
}

/** "values of hidden layer 0 gated by the masks of hidden layers 0 and 1". */
function featureMapText(f: { valueLayer: number; gateLayers: number[] }): string {
  const gates = f.gateLayers.length === 1 ? `hidden layer ${f.gateLayers[0]}` : `hidden layers ${f.gateLayers.slice(0, -1).join(', ')} and ${f.gateLayers.at(-1)}`;
  return `values of hidden layer ${f.valueLayer} gated by the masks of ${gates}`;
}

async function glaiBody(input: ReportInput, x: RunMetrics, charts: Render): Promise<string> {
  const g = x.glai;
  const c = runConfig(input.record.manifest);
  const own = input.workflow ? glaiOf(input.workflow) : null;
  const estimatorArtifact = input.record.manifest.artifacts.find((a) => a.stage === 'estimator');
  const parts: string[] = [];
  if (g) {
    parts.push(
      facts([
        ['structure id', { html: `<code>${esc(g.structureId)}</code>` }],
        ['feature dimension', g.featureDim],
        ['feature map', featureMapText(own?.estimator.features ?? glaiLayers(c.glai, glaiHeadWidths({ ...c.model, kind: c.model.kind ?? 'mlp' })?.length ?? 1))],
        [
          'ridge λ (relative)',
          own?.estimator.solve ? `${own.estimator.solve.lambda} (${own.estimator.solve.chosenBy === 'validation' ? 'chosen on the validation statistics' : 'as configured'})` : c.glai.lambda,
        ],
        ['estimator', estimatorArtifact ? { html: uriHtml(estimatorArtifact.ref.uri) } : null],
        ['estimator samples', own?.estimator.count ?? null],
        ['test accuracy', `estimator ${pct(g.estimatorAccuracy) ?? 'n/a'} vs selector ${pct(g.selectorAccuracy) ?? 'n/a'}`],
      ]),
    );
  }
  const rows: Cell[][] = [];
  const bars: GlaiBar[] = [];
  const addBars = (model: string, estimatorAccuracy: number | null, selectorAccuracy: number | null) => {
    if (estimatorAccuracy !== null) bars.push({ model, kind: 'estimator', accuracy: estimatorAccuracy });
    if (selectorAccuracy !== null) bars.push({ model, kind: 'selector', accuracy: selectorAccuracy });
  };
  if (g) {
    rows.push([
      'this run',
      'pipeline',
      'COMPLETED',
      'its own',
      own?.estimator.count ?? null,
      pct(g.estimatorAccuracy),
      pct(g.selectorAccuracy),
      num(input.workflow && wallSeconds(input.workflow), 3),
      null,
    ]);
    addBars('this run', g.estimatorAccuracy, g.selectorAccuracy);
  }
  for (const w of input.others) {
    const o = glaiOf(w);
    const kind = w.kind;
    const structure = !o ? null : !g ? o.structure.id.slice(0, 12) : o.structure.id === g.structureId ? 'same as the run' : `differs: ${o.structure.id.slice(0, 12)}…`;
    const details = !o
      ? null
      : [
          o.added !== undefined ? `added ${o.added} samples` : '',
          o.merged !== undefined ? `merged ${o.merged} estimators` : '',
          o.removed ? `forgot ${o.removed.length} contribution(s), ${o.removed.reduce((n, c) => n + c.count, 0)} samples` : '',
          ...(o.sites ?? []).map((s) => `site ${s.site}: ${s.status}${s.error ? ` (${s.error})` : ''}`),
        ]
          .filter(Boolean)
          .join('; ');
    rows.push([w.runId, kind, w.status, structure, o?.estimator.count ?? null, pct(o?.estimatorAccuracy), pct(o?.selectorAccuracy), num(wallSeconds(w), 3), details || null]);
    if (o) addBars(w.runId, o.estimatorAccuracy, o.selectorAccuracy);
  }
  parts.push(table(['workflow', 'kind', 'status', 'structure', 'samples', 'estimator acc', 'selector acc', 'wall time (s)', 'details'], rows));
  if (bars.length) parts.push(`<div class="charts">${await charts(glaiAccuracyChart(bars))}</div>`);
  const updates = retrainUpdates(input.others);
  if (updates.length >= 2) parts.push(`<div class="charts">${await charts(updatesChart(updates))}</div>`);
  return parts.join('');
}

/** Each completed GLAI retrain given with `--with`, oldest first: its estimator accuracy and wall time (the updates chart needs two to draw a trend). */
function retrainUpdates(others: RunInfo[]): UpdatePoint[] {
  return others
    .filter((w) => w.kind === 'retrain')
    .sort((a, b) => Date.parse(a.startTime) - Date.parse(b.startTime))
    .flatMap((w) => {
      const accuracy = glaiOf(w)?.estimatorAccuracy ?? null;
      const seconds = wallSeconds(w);
      return accuracy === null || seconds === null ? [] : [{ update: w.runId, accuracy, seconds }];
    });
}

/** The run's estimator's contributions, and each forget run given with `--with`: what it removed, the proof, what it replaces. */
function contributionsBody(list: Contribution[], forgets: RunInfo[]): string {
  const parts: string[] = [];
  if (list.length) {
    parts.push(`<p>The run's estimator sums these statistics artifacts; any of them can be forgotten exactly (<code>lightpath forget</code>).</p>`);
    parts.push(
      table(
        ['contribution', 'samples', 'site', 'arrived', 'source'],
        list.map((c): Cell[] => [{ html: `<code>${esc(c.id)}</code>` }, c.count, c.site, c.arrivedAt, c.source]),
      ),
    );
  }
  if (forgets.length) {
    const rows = forgets.map((w): Cell[] => {
      const r = w.result as ForgetResult | null;
      return [
        w.runId,
        w.status,
        r ? r.removed.map((c) => `${c.id.slice(0, 12)}… (${c.count}${c.site ? `, site ${c.site}` : ''})`).join(', ') : null,
        r?.remaining.length ?? null,
        r ? num(r.exactness.relativeDifference) : null,
        r ? { html: uriHtml(r.replaces.ref.uri) } : null,
        r ? { html: uriHtml(r.estimator.ref.uri) } : null,
      ];
    });
    parts.push('<h3>Forgets</h3>', table(['workflow', 'status', 'removed', 'remaining', 'proof (relative difference)', 'replaces', 'new estimator'], rows));
  }
  return parts.join('');
}

function artifactsBody(r: RunRecord): string {
  const rows = r.manifest.artifacts.map((a): Cell[] => [
    a.stage,
    a.name,
    { html: uriHtml(a.ref.uri) },
    { html: `<code>${esc(a.ref.sha256)}</code>` },
    a.ref.bytes,
    { html: `<details><summary>inputs</summary><pre>${esc(JSON.stringify(a.inputs, null, 1))}</pre></details>` },
  ]);
  return `<p>manifest ${uriHtml(r.manifestUri)}</p>${table(['stage', 'name', 'uri', 'sha256', 'bytes', 'inputs'], rows)}`;
}
