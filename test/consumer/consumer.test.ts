/**
 * lightpath as a stranger installs it: `npm pack` (the prepack build runs) → a
 * scratch project in a fresh temporary folder outside the repository → `npm install`
 * of the tarball plus the `@temporalio/*` peers at the repository's versions →
 *
 * - a plain `worker.mjs` (no tsx, no TypeScript) with two `Worker.create` calls and
 *   `plugins: [lightpath({ store, backend: 'cpu' })]` on `lightpath` and
 *   `lightpath-gpu`, and a `client.mjs` that starts `trainPipeline` by reference
 *   from `lightpath/workflows` on a tiny synthetic config: it completes;
 * - `npx lightpath --help` and `npx lightpath doctor --json`;
 * - a consumer `.ts` importing from all five exports type-checks against the shipped
 *   `.d.ts` (strict, NodeNext, skipLibCheck false);
 * - paths outside the export map fail with ERR_PACKAGE_PATH_NOT_EXPORTED.
 *
 * The worker, client and CLI steps run on the machine's Node and on Node 24
 * (scripts/node-binary.ts), reusing one packed and installed scratch project.
 * Fixtures (test/consumer/fixtures/) are copied in; `consumer.ts.txt` carries a
 * .txt suffix so the repository's own type check does not compile it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTemporal, type TemporalDevServer } from '../../cli/dev-services.js';
import { ensureNode } from '../../scripts/node-binary.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const PEERS = ['activity', 'client', 'common', 'envconfig', 'plugin', 'proto', 'worker', 'workflow'].map((p) => `@temporalio/${p}`);

/** The version of `pkg` installed in the repository. */
function repoVersion(pkg: string): string {
  return (createRequire(join(REPO, 'package.json'))(`${pkg}/package.json`) as { version: string }).version;
}

/** The environment for commands in the scratch project: no npm_* variables from an enclosing `npm test`, and `node` (for shebangs and npx) the given binary. */
function envFor(node: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  env.PATH = `${dirname(node)}${delimiter}${env.PATH ?? ''}`;
  return { ...env, ...extra };
}

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();

/** Kills `child`'s whole process group (it was started detached). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    /* already gone */
  }
}

/** Runs a command to completion in its own process group, killed after `timeoutMs`; never throws. */
function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[consumer test] ${cmd} ${args.join(' ')} killed after ${opts.timeoutMs / 1000} s`;
      killGroup(child, 'SIGKILL');
    }, opts.timeoutMs);
    child.once('error', (e) => {
      stderr += `\n${e.message}`;
    });
    child.once('close', (status) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ status, stdout, stderr });
    });
  });
}

function mustSucceed(what: string, r: Ran): Ran {
  assert.equal(r.status, 0, `${what} exited ${r.status}:\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-3000)}`);
  return r;
}

/** Starts the scratch project's worker.mjs on `node`; resolves once it reports both workers running. */
async function startWorker(node: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(node, ['worker.mjs'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20000)));
  const deadline = Date.now() + 180_000;
  while (!out.includes('consumer workers running')) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`worker.mjs on ${node} exited (${child.exitCode ?? child.signalCode}):\n${out.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`worker.mjs on ${node} did not start its workers within 180 s:\n${out.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, output: () => out };
}

/** Stops a worker process group: SIGTERM (Temporal workers shut down on it), SIGKILL after 20 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

let scratch = '';
let app = '';
let temporal: TemporalDevServer | undefined;
let nodes: { label: string; bin: string }[] = [];
const timings: Record<string, number> = {};

before(async () => {
  const t0 = Date.now();
  const node24 = ensureNode(24);
  nodes = [
    { label: `the machine's Node ${process.version}`, bin: process.execPath },
    { label: 'Node 24', bin: node24 },
  ];
  scratch = realpathSync(mkdtempSync(join(tmpdir(), 'lightpath-consumer-')));
  const rel = relative(REPO, scratch);
  assert.ok(rel.startsWith('..') || isAbsolute(rel), `the scratch folder ${scratch} must lie outside the repository`);
  app = join(scratch, 'app');
  cpSync(FIXTURES, app, { recursive: true });
  renameSync(join(app, 'consumer.ts.txt'), join(app, 'consumer.ts'));

  const pack = join(scratch, 'pack');
  mkdirSync(pack);
  const env = envFor(process.execPath);
  mustSucceed('npm pack', await run('npm', ['pack', '--pack-destination', pack, '--loglevel=warn'], { cwd: REPO, env, timeoutMs: 300_000 }));
  const tarball = readdirSync(pack).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, `npm pack wrote no tarball into ${pack}`);
  timings.pack = Date.now() - t0;

  const t1 = Date.now();
  const deps = [join(pack, tarball), ...PEERS.map((p) => `${p}@${repoVersion(p)}`), `@types/node@${repoVersion('@types/node')}`];
  mustSucceed('npm install', await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...deps], { cwd: app, env, timeoutMs: 600_000 }));
  timings.install = Date.now() - t1;

  temporal = await startTemporal();
});

after(async () => {
  for (const c of [...children]) await stopChild(c);
  await temporal?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  if (Object.keys(timings).length)
    process.stderr.write(
      `[consumer test] ${Object.entries(timings)
        .map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`)
        .join(', ')}\n`,
    );
});

test('the installed package holds only the build: dist/, no TypeScript sources, tests or bench', () => {
  const root = join(app, 'node_modules', 'lightpath');
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else files.push(relative(root, join(dir, e.name)));
    }
  };
  walk(root);
  assert.deepEqual(files.filter((f) => !f.startsWith('dist/')).sort(), ['LICENSE', 'README.md', 'package.json']);
  assert.deepEqual(
    files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
    [],
  );
  assert.ok(files.includes('dist/workflows/index.js') && files.includes('dist/ml/backend/native/addon.c') && files.includes('dist/cli/export/predict.mjs'));
  assert.ok(!existsSync(join(root, 'dist', 'test')) && !existsSync(join(root, 'dist', 'bench')));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; peerDependencies: Record<string, string> };
  assert.equal(pkg.dependencies.tsx, undefined, 'tsx is not a run-time dependency');
  for (const p of PEERS) assert.ok(pkg.peerDependencies[p], `${p} is a peer dependency`);
  // One copy of the Temporal SDK: lightpath has no nested @temporalio packages of its own.
  assert.ok(!existsSync(join(root, 'node_modules', '@temporalio')), 'lightpath/node_modules/@temporalio exists: a second SDK copy');
});

test('paths outside the export map fail with ERR_PACKAGE_PATH_NOT_EXPORTED', async () => {
  const r = mustSucceed('private-import.mjs', await run(process.execPath, ['private-import.mjs'], { cwd: app, env: envFor(process.execPath), timeoutMs: 60_000 }));
  const codes = JSON.parse(r.stdout) as Record<string, string>;
  for (const [path, code] of Object.entries(codes)) assert.equal(code, 'ERR_PACKAGE_PATH_NOT_EXPORTED', path);
});

test('a consumer .ts importing all five exports type-checks against the shipped .d.ts (strict, NodeNext; lightpath clean with skipLibCheck false)', async (t) => {
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  const env = envFor(process.execPath);
  // The fixture's tsconfig has skipLibCheck false: every declaration file is checked. Some of the
  // SDK's and TF.js's own .d.ts do not pass that (e.g. @temporalio/common's time.d.ts needs @types/ms,
  // which it does not depend on; tfjs-layers' keras_format types); none may be lightpath's or the consumer's.
  const full = await run(process.execPath, [tsc, '--noEmit', '--pretty', 'false', '-p', app], { cwd: app, env, timeoutMs: 300_000 });
  const errors = full.stdout.split('\n').filter((l) => /^\S.*\(\d+,\d+\): error TS\d+/.test(l));
  assert.ok(full.status === 0 || errors.length > 0, `tsc exited ${full.status} without errors it names:\n${full.stdout}${full.stderr}`);
  assert.deepEqual(
    errors.filter((l) => !l.startsWith('node_modules/') || l.startsWith('node_modules/lightpath/')),
    [],
    "errors in lightpath's .d.ts or in consumer.ts",
  );
  const owners = [...new Set(errors.map((l) => /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(l)?.[1]))];
  if (owners.length) t.diagnostic(`skipLibCheck false: ${errors.length} errors, all in other packages' declarations (${owners.join(', ')})`);
  // With the usual skipLibCheck the consumer's program checks cleanly (the @ts-expect-error in it proves trainPipeline's argument type is enforced).
  mustSucceed('tsc --noEmit --skipLibCheck', await run(process.execPath, [tsc, '--noEmit', '--pretty', 'false', '--skipLibCheck', '-p', app], { cwd: app, env, timeoutMs: 300_000 }));
});

for (const which of [0, 1]) {
  test(`on ${which === 0 ? "the machine's Node" : 'Node 24'}: a plain worker.mjs with the plugin and a client.mjs run trainPipeline by reference to completion`, async () => {
    const { label, bin } = nodes[which]!;
    const t0 = Date.now();
    const store = join(scratch, `store-${which}`);
    const workflowId = `consumer-${which}-${Date.now()}`;
    const env = envFor(bin, { TEMPORAL_ADDRESS: temporal!.address, CONSUMER_STORE: store, CONSUMER_WORKFLOW_ID: workflowId });
    const worker = await startWorker(bin, env);
    try {
      const want = (await run(bin, ['--version'], { cwd: app, env, timeoutMs: 30_000 })).stdout.trim();
      assert.ok(worker.output().includes(`consumer workers running on ${want}`), `${label}: ${worker.output().slice(-500)}`);
      const r = mustSucceed(`client.mjs on ${label}`, await run(bin, ['client.mjs'], { cwd: app, env, timeoutMs: 300_000 }));
      const { node, result } = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
        node: string;
        result: { runId: string; testAccuracy: number; manifest: string; backend: string; history: unknown[] };
      };
      assert.equal(node, want);
      assert.equal(result.runId, workflowId);
      assert.ok(result.testAccuracy >= 0 && result.testAccuracy <= 1, `test accuracy ${result.testAccuracy}`);
      assert.equal(result.backend, 'cpu');
      assert.equal(result.history.length, 1);
      assert.equal(typeof result.manifest, 'string');
      assert.ok(result.manifest.length > 0 && result.manifest.includes(workflowId), result.manifest);
      const manifestPath = result.manifest.startsWith('file://') ? fileURLToPath(result.manifest) : result.manifest;
      assert.ok(manifestPath.startsWith(store) && existsSync(manifestPath), `the manifest ${result.manifest} is in the plugin's store ${store}`);
    } finally {
      await stopChild(worker.child);
    }
    timings[`pipeline on ${label}`] = Date.now() - t0;
  });

  test(`on ${which === 0 ? "the machine's Node" : 'Node 24'}: npx lightpath --help and npx lightpath doctor --json`, async () => {
    const { label, bin } = nodes[which]!;
    const env = envFor(bin, { TEMPORAL_ADDRESS: temporal!.address, LIGHTPATH_STORE: join(scratch, `store-${which}`) });
    const want = mustSucceed('node --version', await run(bin, ['--version'], { cwd: app, env, timeoutMs: 30_000 })).stdout.trim();
    assert.equal(
      mustSucceed('env node --version', await run('/usr/bin/env', ['node', '--version'], { cwd: app, env, timeoutMs: 30_000 })).stdout.trim(),
      want,
      "the bin's #!/usr/bin/env node finds the Node under test",
    );
    const help = mustSucceed(`npx lightpath --help on ${label}`, await run('npx', ['--no-install', 'lightpath', '--help'], { cwd: app, env, timeoutMs: 120_000 }));
    for (const command of ['dev', 'run', 'worker', 'doctor', 'serve']) assert.match(help.stdout, new RegExp(`^\\s+${command}\\b`, 'm'), `--help lists ${command}:\n${help.stdout}`);
    const doctor = mustSucceed(`npx lightpath doctor --json on ${label}`, await run('npx', ['--no-install', 'lightpath', 'doctor', '--json'], { cwd: app, env, timeoutMs: 120_000 }));
    const report = JSON.parse(doctor.stdout) as { backends: Record<string, unknown>; temporal: { ok: boolean; address: string }; store: string };
    assert.deepEqual(report.temporal, { ok: true, address: temporal!.address, detail: 'reachable' }, doctor.stdout);
    assert.ok(report.backends && typeof report.backends === 'object', doctor.stdout);
    assert.equal(report.store, join(scratch, `store-${which}`));
  });
}
