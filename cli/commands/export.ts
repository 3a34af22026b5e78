/** `lightpath export`: a run's trained network as TF.js LayersModel files, with its GLAI estimator when it has one. */
import { InvalidArgumentError, type Command } from 'commander';
import { resolve } from 'node:path';
import { ConfigError } from '../../contracts/errors.js';
import { getModel } from '../../storage/model-files.js';
import { storeForUri } from '../../storage/open.js';
import { connect } from '../../client/connect.js';
import { findRun } from '../../client/run-record.js';
import { sourceFromManifest, sourceFromWorkflow, type ExportSource } from '../export/source.js';
import { writeLayersModel } from '../export/tfjs.js';
import { writeGlaiExport } from '../export/glai.js';
import { fail } from '../shared.js';

/** The run's manifest in the store; else (a retrain or merge has none) the workflow's result from Temporal. */
async function exportSource(id: string, store?: string): Promise<ExportSource> {
  const record = await findRun(id, store);
  if (record) return sourceFromManifest(record.manifest);
  const lp = await connect();
  try {
    return sourceFromWorkflow(await lp.getRun(id));
  } finally {
    await lp.close();
  }
}

/** Adds `export` to the program. */
export function registerExport(program: Command): void {
  program
    .command('export <runId>')
    .description('export a trained network as TF.js LayersModel files (model.json + weights.bin); glai: plus the GLAI estimator and a dependency-free predict.mjs')
    .requiredOption('-o, --out <dir>', 'folder to write into')
    .option('--format <format>', 'tfjs or glai (default: glai when the run has a GLAI estimator, else tfjs)', (v) => {
      if (v !== 'tfjs' && v !== 'glai') throw new InvalidArgumentError('expected tfjs or glai');
      return v;
    })
    .option('--store <uri>', 'store holding the run (default: LIGHTPATH_STORE / LIGHTPATH_S3_BUCKET / local); a retrain or merge id is looked up in Temporal')
    .option('--json', 'print what was written as JSON')
    .action(async (id: string, o: { out: string; format?: 'tfjs' | 'glai'; store?: string; json?: boolean }) => {
      try {
        const source = await exportSource(id, o.store);
        const format = o.format ?? (source.estimator ? 'glai' : 'tfjs');
        if (format === 'glai' && !source.estimator) throw new ConfigError(`${id}: has no GLAI estimator (run the pipeline with glai.enabled); export it with --format tfjs`, []);
        const out = resolve(o.out);
        const selector = await getModel(storeForUri(source.model.model.uri), source.model);
        const files =
          format === 'tfjs'
            ? await writeLayersModel(out, selector, source.metadata)
            : await writeGlaiExport(out, selector, { bytes: await storeForUri(source.estimator!.uri).get(source.estimator!), uri: source.estimator!.uri }, source.metadata);
        process.stdout.write(o.json ? `${JSON.stringify({ id, format, out, files })}\n` : `${files.map((f) => `${f.path} (${f.bytes} bytes)`).join('\n')}\n`);
      } catch (e) {
        fail(e);
      }
    });
}
