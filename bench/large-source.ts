/**
 * Memory on a source larger than the data memory budget (issue 13): writes a large
 * image folder, prepares it as a pipeline's prepare stage does, trains an epoch as the
 * train activity does (a worker thread reading shards through this host) and evaluates
 * on the test split; each step prints its time and the process's peak RSS (training
 * thread included). Not a test.
 *
 *   node --import tsx bench/large-source.ts generate <dir> <images> <side>   (RGB PNGs of noise over a class band)
 *   node --import tsx bench/large-source.ts prepare <dir> <store>            (prints the prepared data as JSON last)
 *   node --import tsx bench/large-source.ts train <store> <prepared.json> [mlp|cnn] [epochs]
 *   node --import tsx bench/large-source.ts fashion-png <dir>                (Fashion-MNIST as train/<label>/*.png, test/<label>/*.png)
 *
 * `prepare fashion-mnist <store>` prepares the IDX files, for comparing the two forms of
 * Fashion-MNIST with the same training.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import sharp from 'sharp';
import { join } from 'node:path';
import { prepareData } from '../activities/data.js';
import { hostSplit, splitData } from '../activities/splits.js';
import { dataMemoryBudget } from '../activities/data-budget.js';
import { mapLimit } from '../ml/data/files.js';
import { buildModel } from '../ml/models/build.js';
import { modelFromParts, modelToParts } from '../ml/models/io.js';
import { trainInThread } from '../ml/train/run-in-thread.js';
import { accuracy } from '../ml/train/evaluate.js';
import { selectBackend } from '../ml/backend/select.js';
import { Rng } from '../ml/rng.js';
import type { PreparedData } from '../contracts/types.js';
import { findFashionMnist, loadFashionMnist } from '../ml/data/fashion-mnist.js';

const CLASSES = 10;
const GiB = 1024 ** 3;
const peak = () => `${(process.resourceUsage().maxRSS / 1024 / 1024).toFixed(2)} GiB peak RSS`;

/** Writes `count` side×side RGB PNGs: noise (incompressible, so the files are as large as the pixels) brighter in the class's band. */
async function generate(dir: string, count: number, side: number): Promise<void> {
  for (let c = 0; c < CLASSES; c++) mkdirSync(join(dir, `class${c}`), { recursive: true });
  const t0 = performance.now();
  let bytes = 0;
  await mapLimit(
    Array.from({ length: count }, (_, i) => i),
    4,
    async (i) => {
      const c = i % CLASSES;
      const rng = Rng.fromSeed(i);
      const px = Buffer.alloc(side * side * 3);
      for (let y = 0; y < side; y++)
        for (let x = 0; x < side; x++) for (let ch = 0; ch < 3; ch++) px[(y * side + x) * 3 + ch] = (Math.floor((x * CLASSES) / side) === c ? 128 : 0) + (rng.nextUint32() & 127);
      const png = await sharp(px, { raw: { width: side, height: side, channels: 3 } })
        .png({ compressionLevel: 1 })
        .toBuffer();
      bytes += png.length;
      writeFileSync(join(dir, `class${c}`, `${String(i).padStart(7, '0')}.png`), png);
    },
  );
  console.log(`wrote ${count} images, ${(bytes / GiB).toFixed(3)} GiB, in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

/** Writes Fashion-MNIST (the worker's IDX files) as an image folder with a test split, classes named by label. */
async function fashionPng(dir: string): Promise<void> {
  const path = findFashionMnist();
  if (!path) throw new Error('Fashion-MNIST not found (LIGHTPATH_FASHION_MNIST)');
  const sets = await loadFashionMnist(path);
  const t0 = performance.now();
  for (const [split, set] of [
    ['train', sets.train],
    ['test', sets.test],
  ] as const) {
    for (let c = 0; c < CLASSES; c++) mkdirSync(join(dir, split, String(c)), { recursive: true });
    const px = set.height * set.width;
    await mapLimit(
      Array.from({ length: set.count }, (_, i) => i),
      4,
      async (i) => {
        const raw = Buffer.from(set.images.subarray(i * px, (i + 1) * px));
        const png = await sharp(raw, { raw: { width: set.width, height: set.height, channels: 1 } })
          .toColourspace('b-w')
          .png()
          .toBuffer();
        writeFileSync(join(dir, split, String(set.labels[i]), `${String(i).padStart(5, '0')}.png`), png);
      },
    );
  }
  console.log(`wrote Fashion-MNIST as PNGs in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

async function prepare(dir: string, store: string): Promise<void> {
  console.log(`budget ${(dataMemoryBudget() / GiB).toFixed(3)} GiB, ${cpus().length} cores`);
  const t0 = performance.now();
  const prepared = await prepareData({ store, source: dir, seed: 1, read: { imageSize: undefined } });
  const s = (performance.now() - t0) / 1000;
  const images = prepared.counts.train + prepared.counts.val + prepared.counts.test;
  console.log(`prepared ${images} images in ${s.toFixed(0)} s (${((s * 10_000) / images).toFixed(1)} s per 10,000 images), ${peak()}`);
  console.log(JSON.stringify(prepared));
}

async function train(store: string, preparedFile: string, kind: 'mlp' | 'cnn', epochs: number): Promise<void> {
  await selectBackend();
  const lines = readFileSync(preparedFile, 'utf8').trim().split('\n');
  const prepared = JSON.parse(lines.filter((l) => l.startsWith('{')).at(-1)!) as PreparedData;
  const spec = { kind, hidden: [64], filters: [8, 16], dense: [32], channels: [], initializer: 'sinusoidal' as const };
  const model = buildModel(spec, prepared.inputShape, prepared.classes, 1);
  const parts = await modelToParts(model);
  model.dispose();
  const t0 = performance.now();
  const out = await trainInThread({
    model: parts,
    train: await hostSplit(prepared.train),
    val: prepared.val ? await hostSplit(prepared.val) : null,
    options: {
      epochs,
      batchSize: 128,
      learningRate: 1e-3,
      schedule: { kind: 'constant', warmupSteps: 0 },
      optimizer: { name: 'adamw', weightDecay: 1e-4, weightDecayMode: 'decoupled' },
      seed: 1,
      oui: { pairs: 64, every: 10 },
    },
    resumeFrom: null,
  });
  for (const h of out.checkpoint.history) console.log(`epoch ${h.epoch}: loss ${h.loss.toFixed(4)}, val accuracy ${h.valAccuracy}, OUI ${h.oui.toFixed(3)}, ${h.seconds.toFixed(0)} s`);
  const trained = await modelFromParts(out.model);
  const test = await accuracy(trained, await splitData(prepared.test));
  console.log(`trained ${epochs} epoch(s) in ${((performance.now() - t0) / 1000).toFixed(0)} s on ${out.backend.name}; test accuracy ${test.toFixed(4)}; ${peak()}`);
}

const [mode, a, b, c, d] = process.argv.slice(2);
if (mode === 'generate') await generate(a!, Number(b), Number(c));
else if (mode === 'fashion-png') await fashionPng(a!);
else if (mode === 'prepare') await prepare(a!, b!);
else if (mode === 'train') await train(a!, b!, (c as 'mlp' | 'cnn') ?? 'mlp', Number(d ?? 1));
else throw new Error('usage: large-source.ts generate|prepare|train …');
process.exit(0);
