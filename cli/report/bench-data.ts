/**
 * `glai.json` (written by `npm run bench:glai`) as the report reads it: the parts its
 * benchmark section shows, validated with zod. Fields that older files lack are optional.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from '../../contracts/errors.js';

const StabilizationPointSchema = z.object({ step: z.number(), patternChange: z.number(), weightChange: z.number() });

/** One training run of the stabilization benchmark: its learning-rate schedule and change per `every` steps. */
const StabilizationRunSchema = z.object({ schedule: z.string(), series: z.array(StabilizationPointSchema).min(1) });

/** One shard of the incremental benchmark: the GLAI update vs retraining the DNN on all samples seen. */
const ShardSchema = z.object({
  shard: z.number(),
  seen: z.number(),
  glaiSeconds: z.number(),
  glaiAccuracy: z.number(),
  dnnSeconds: z.number(),
  dnnAccuracy: z.number(),
  accumulateSeconds: z.number().optional(),
  solveSeconds: z.number().optional(),
  lambda: z.number().optional(),
  solves: z.number().optional(),
});

/** The parts of glai.json the report reads. */
const GlaiBenchSchema = z.object({
  date: z.string(),
  quick: z.boolean().optional(),
  load: z.array(z.number()).optional(),
  backend: z.object({ name: z.string() }).optional(),
  selector: z.object({ hidden: z.array(z.number()), trainSamples: z.number(), testSamples: z.number() }).optional(),
  stabilization: z.object({ every: z.number(), runs: z.array(StabilizationRunSchema).min(1) }),
  incremental: z.object({
    baseEpochs: z.number().optional(),
    baseTrainSeconds: z.number().optional(),
    baseAccuracy: z.number().optional(),
    baseGlaiSeconds: z.number().optional(),
    shards: z.array(ShardSchema).min(1),
    glaiSeconds: z.number(),
    dnnSeconds: z.number(),
    speedup: z.number(),
    accuracyGapPoints: z.number(),
    meanGapPoints: z.number().optional(),
  }),
});
export type GlaiBench = z.infer<typeof GlaiBenchSchema>;
export type GlaiBenchStabilization = GlaiBench['stabilization'];
export type GlaiBenchShard = z.infer<typeof ShardSchema>;

/** Reads and validates `<dir>/glai.json`; a missing, unparsable or incomplete file is an InvalidInputError naming it (and the field). */
export async function readGlaiBench(dir: string): Promise<{ file: string; bench: GlaiBench }> {
  const file = join(dir, 'glai.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new InvalidInputError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); --bench names the folder holding glai.json`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InvalidInputError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  const parsed = GlaiBenchSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new InvalidInputError(`${file}: not a GLAI benchmark result (${issues.join('; ')})`);
  }
  return { file, bench: parsed.data };
}
