/**
 * `npm run bench:wd`: OUI-driven weight decay on Fashion-MNIST, through the real
 * workflows on an embedded Temporal dev server with in-process workers (two
 * training slots). For the MLP and the small CNN it runs grid mode (every candidate
 * to the end), search mode (OUI stops candidates early) and controller mode, and
 * reports epochs spent, wall time, the chosen weight decay and the chosen model's
 * test accuracy, each grid candidate's OUI curve and test accuracy, whether the best
 * grid candidate's OUI was inside the band, and a plot of OUI per epoch per weight
 * decay with the band. Writes bench/results/wd.json and wd-oui.svg. Not a test.
 *
 * Training follows the OUI paper's setup: SGD with momentum 0.9, LR 0.01, cosine
 * schedule, coupled L2 weight decay over the default grid 1e-5 … 1e-2.
 *
 * Options: --epochs N (budget, default 10), --models mlp,cnn, --cnn-train N
 * (CNN training subset, default 20000), --quick.
 */
import { parseArgs } from 'node:util';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { startTemporal } from '../cli/dev-services.js';
import { connect } from '../client/connect.js';
import { connectWorker, createWorkers, runWorkers } from '../workers/create.js';
import { readManifest } from '../storage/manifest.js';
import { openStore } from '../storage/open.js';
import { getModel } from '../storage/model-files.js';
import { modelFromParts } from '../ml/models/io.js';
import { selectBackend } from '../ml/backend/select.js';
import { loadFashionMnist } from '../ml/data/fashion-mnist.js';
import { imagesToData } from '../ml/data/images.js';
import { accuracy } from '../ml/train/evaluate.js';
import { type Candidate, type Decision } from '../contracts/search.js';
import type { ModelRefs } from '../contracts/types.js';

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '10' },
    models: { type: 'string', default: 'mlp,cnn' },
    'cnn-train': { type: 'string', default: '20000' },
    quick: { type: 'boolean', default: false },
  },
});
const epochs = args.quick ? 3 : Number(args.epochs);
const outDir = join(import.meta.dirname, 'results');
mkdirSync(outDir, { recursive: true });
const band: [number, number] = [0.6, 0.8];

await selectBackend();
const storeDir = mkdtempSync(join(tmpdir(), 'lightpath-bench-wd-'));
const store = openStore(storeDir);
const server = await startTemporal();
const connection = await connectWorker({ address: server.address });
const workers = await createWorkers({ connection, roles: ['cpu', 'gpu'], gpuSlots: 2 });
const ac = new AbortController();
const running = runWorkers(workers, ac.signal);
const lp = await connect({ address: server.address });
const test = imagesToData((await loadFashionMnist()).test);

async function testAccuracy(ref: ModelRefs): Promise<number> {
  const model = await modelFromParts(await getModel(store, ref));
  const acc = await accuracy(model, test);
  model.dispose();
  return acc;
}

interface SearchMetrics {
  mode: string;
  chosenWeightDecay: number;
  epochsSpent: number;
  decisions: Decision[];
  candidates: Omit<Candidate, 'checkpoint' | 'model'>[];
}

const rows: Record<string, unknown>[] = [];
const curves: { model: string; weightDecay: string; epoch: number; oui: number }[] = [];
const gridDetail: Record<string, unknown>[] = [];
try {
  for (const model of args.models!.split(',')) {
    const modelCfg = model === 'cnn' ? { kind: 'cnn' } : { kind: 'mlp', hidden: [256, 128] };
    const data = model === 'cnn' ? { trainLimit: args.quick ? 3000 : Number(args['cnn-train']) } : args.quick ? { trainLimit: 10000 } : {};
    for (const mode of ['grid', 'search', 'controller'] as const) {
      const t0 = performance.now();
      const { runId, handle } = await lp.startPipeline(
        {
          name: `bench-${model}-${mode}`,
          data,
          model: modelCfg,
          train: { epochs, optimizer: 'sgd', momentum: 0.9, learningRate: 0.01, schedule: 'cosine', weightDecayMode: 'coupled', weightDecay: 1e-3 },
          search: { mode, band },
        },
        { store: storeDir },
      );
      const result = await handle.result();
      const seconds = (performance.now() - t0) / 1000;
      const manifest = (await readManifest(store, runId))!;
      const search = manifest.metrics.weightDecaySearch as SearchMetrics;
      rows.push({ model, mode, 'epochs spent': search.epochsSpent, 'wall s': Math.round(seconds), 'chosen WD': search.chosenWeightDecay, 'test acc %': +(result.testAccuracy * 100).toFixed(2) });
      console.log(rows.at(-1));
      if (mode === 'grid') {
        const full = await lp.client.workflow.getHandle(`${runId}-wd-search`).query<Candidate[]>('candidates');
        for (const c of full) {
          const acc = await testAccuracy(c.model!);
          const meanOui = c.oui.slice(Math.max(1, Math.ceil(epochs / 10)) - 1).reduce((a, b) => a + b, 0) / Math.max(1, c.oui.length - Math.max(1, Math.ceil(epochs / 10)) + 1);
          gridDetail.push({
            model,
            weightDecay: c.weightDecay,
            'test acc %': +(acc * 100).toFixed(2),
            'final OUI': +c.oui.at(-1)!.toFixed(3),
            'mean OUI after warm-up': +meanOui.toFixed(3),
            inBand: meanOui >= band[0] && meanOui <= band[1],
            oui: c.oui.map((o) => +o.toFixed(3)),
          });
          c.oui.forEach((o, i) => curves.push({ model, weightDecay: c.weightDecay.toExponential(1), epoch: i + 1, oui: o }));
        }
      }
    }
  }
} finally {
  await lp.close();
  ac.abort();
  await running;
  await connection.close();
  await server.stop();
}

console.log(`\nOUI-driven weight decay on Fashion-MNIST (budget ${epochs} epochs, band [${band.join(', ')}])`);
console.table(rows);
console.log('Grid candidates');
console.table(gridDetail.map(({ oui: _o, ...r }) => r));
for (const model of new Set(gridDetail.map((g) => g.model as string))) {
  const g = gridDetail.filter((x) => x.model === model);
  const best = g.reduce((a, b) => ((a['test acc %'] as number) >= (b['test acc %'] as number) ? a : b));
  const grid = rows.find((r) => r.model === model && r.mode === 'grid')!;
  const search = rows.find((r) => r.model === model && r.mode === 'search')!;
  console.log(
    `${model}: search spent ${search['epochs spent']}/${grid['epochs spent']} of the grid's epochs (${(((search['epochs spent'] as number) / (grid['epochs spent'] as number)) * 100).toFixed(0)} %, goal ≤ 33 %); ` +
      `chosen test acc ${search['test acc %']} % vs grid best ${best['test acc %']} % (WD ${best.weightDecay}; goal within 0.5 points); ` +
      `best grid candidate's OUI ${best.inBand ? 'was' : 'was NOT'} inside the band (mean after warm-up ${best['mean OUI after warm-up']})`,
  );
}
const spec: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: `OUI per epoch per weight decay (band [${band.join(', ')}])`,
  data: { values: curves },
  facet: { column: { field: 'model', type: 'nominal' } },
  spec: {
    width: 320,
    height: 220,
    layer: [
      { mark: { type: 'rect', opacity: 0.15, color: 'green' }, encoding: { y: { datum: band[0], type: 'quantitative' }, y2: { datum: band[1] } } },
      {
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'epoch', type: 'quantitative' },
          y: { field: 'oui', type: 'quantitative', title: 'OUI', scale: { domain: [0, 1] } },
          color: { field: 'weightDecay', type: 'nominal', title: 'weight decay' },
        },
      },
    ],
  },
};
writeFileSync(join(outDir, 'wd-oui.svg'), await new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' }).toSVG());
writeFileSync(join(outDir, 'wd.json'), JSON.stringify({ date: new Date().toISOString(), epochs, band, rows, grid: gridDetail }, null, 2));
console.log(`results: ${join(outDir, 'wd.json')}, plot: ${join(outDir, 'wd-oui.svg')}`);
