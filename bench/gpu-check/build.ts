/**
 * Builds bench/gpu-check's self-contained folder for a GPU machine without
 * internet (< 64 MB): this Node binary xz-compressed, the benchmark (bench.ts)
 * bundled into one JS file, Dawn's `dawn.node` compressed with the `webgpu`
 * package's loader, the Vulkan loader's Debian package (`apt-get download
 * libvulkan1`), torch_ref.py and run.sh. Usage: `npm run gpu-check:build [dir]`
 * (default bench/results/gpu-check); then copy the folder and run `./run.sh`.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const LIMIT_BYTES = 64 * 1024 * 1024;
const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, '..', 'results', 'gpu-check'));
const webgpuDir = dirname(createRequire(import.meta.url).resolve('webgpu/package.json'));

/** Writes `src` xz-compressed to `dest`. */
function xz(src: string, dest: string): void {
  writeFileSync(dest, execFileSync('xz', ['-9', '-T0', '-c', src], { maxBuffer: 1 << 30 }));
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'debs'), { recursive: true });
mkdirSync(join(out, 'webgpu'), { recursive: true });
await build({
  entryPoints: [join(here, 'bench.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: join(out, 'bench.mjs'),
  external: ['webgpu'],
  // TF.js's CommonJS parts require Node built-ins, which an ESM bundle has no `require` for.
  banner: { js: "import { createRequire as lightpathRequire } from 'node:module'; const require = lightpathRequire(import.meta.url);" },
  minify: true,
  logLevel: 'warning',
});
xz(process.execPath, join(out, 'node.xz'));
xz(join(webgpuDir, 'dist', 'linux-x64', 'dawn.node'), join(out, 'dawn.node.xz'));
for (const f of ['index.js', 'package.json']) copyFileSync(join(webgpuDir, f), join(out, 'webgpu', f));
execFileSync('apt-get', ['download', 'libvulkan1'], { cwd: join(out, 'debs'), stdio: ['ignore', 'ignore', 'inherit'] });
copyFileSync(join(here, '..', 'torch_ref.py'), join(out, 'torch_ref.py'));
copyFileSync(join(here, 'run.sh'), join(out, 'run.sh'));

const size = (p: string): number => (statSync(p).isDirectory() ? readdirSync(p).reduce((s, f) => s + size(join(p, f)), 0) : statSync(p).size);
const total = size(out);
process.stdout.write(`${out}: ${(total / 1048576).toFixed(1)} MB\n`);
if (total >= LIMIT_BYTES) throw new Error(`the folder is ${(total / 1048576).toFixed(1)} MB, over the 64 MB limit`);
