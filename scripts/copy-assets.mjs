#!/usr/bin/env node
/**
 * The build's second half (`npm run build`): copies the files that the compiled
 * code reads next to itself at run time, and that tsc does not emit, into the
 * same places under dist/ — every file under the shipped source folders that is
 * not TypeScript (today ml/backend/native/*.c and *.h, the native addon's
 * sources compiled at provisioning, and cli/export/predict.mjs).
 *
 * `--clean` removes dist/ instead (the build runs it first, so nothing stale ships).
 * Plain Node, no dependencies: it runs before anything is compiled.
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
/** The folders tsconfig.build.json compiles. */
const SHIPPED = ['contracts', 'client', 'workflows', 'activities', 'ml', 'storage', 'workers', 'cli', 'http', 'scripts'];
/** Files under SHIPPED that are not run-time assets. */
const SKIP = new Set(['scripts/copy-assets.mjs']);

if (process.argv.includes('--clean')) {
  rmSync(DIST, { recursive: true, force: true });
} else {
  let copied = 0;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      const rel = relative(ROOT, path).split('\\').join('/');
      if (e.isDirectory()) walk(path);
      else if (e.isFile() && !e.name.endsWith('.ts') && !SKIP.has(rel)) {
        mkdirSync(dirname(join(DIST, rel)), { recursive: true });
        copyFileSync(path, join(DIST, rel));
        copied++;
      }
    }
  };
  for (const d of SHIPPED) walk(join(ROOT, d));
  process.stderr.write(`[copy-assets] ${copied} run-time files copied into dist/\n`);
}
