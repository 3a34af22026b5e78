/**
 * Bad input, table-driven: config YAML, IDX files, `.lpb` bundles, store URIs,
 * run and schedule ids, HTTP bodies, CLI arguments and data sources outside the
 * data roots. Each case is refused with one line naming the field or file (CLI:
 * exit 2; HTTP: 4xx with the error JSON; client and store calls: a non-retryable
 * error), a case that starts a workflow fails on its first activity attempt, a case
 * refused up front starts no workflow, the store keeps no temporary object, and a
 * good pipeline completes after all of them. One set of services for the file,
 * in-process workers and API server; CLI subprocesses only for CLI cases.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { useStack } from '../helpers/services.js';
import { cli } from '../helpers/cli.js';
import { buildServer } from '../../http/server.js';
import { loadConfigFile } from '../../cli/shared.js';
import { findRun } from '../../client/run-record.js';
import { openStore, storeForUri } from '../../storage/open.js';
import { S3Store } from '../../storage/s3-store.js';
import { encodeBundle } from '../../storage/bundle.js';
import { FASHION_MNIST_FILES } from '../../ml/data/fashion-mnist.js';

const stack = useStack(['cpu', 'gpu']);
const data = await mkdtemp(join(tmpdir(), 'lp-bad-input-'));
// The in-process workers and API server are confined to `data` (plus the built-ins and the store).
process.env.LIGHTPATH_DATA_ROOTS = data;

let app: FastifyInstance;
let base = '';
after(async () => {
  await app?.close();
  await rm(data, { recursive: true, force: true });
});

/** A small synthetic pipeline that trains quickly. */
const GOOD = { name: 'good', data: { source: 'synthetic', validationSize: 300 }, model: { hidden: [16] }, train: { epochs: 1, batchSize: 50 } };

const oneLine = (s: string) => s.trim().split('\n').length === 1;

/** Workflow ids started by the cases (the only ones the server may know besides the good runs). */
const started = new Set<string>();

type Outcome = { kind: 'refused' } | { kind: 'workflow'; runId: string };
interface Case {
  group: string;
  name: string;
  run: () => Promise<Outcome>;
}

/** An IDX byte array: magic, `dims`, then `values` (default: zeros). */
function idx(dims: number[], values?: Uint8Array, ndimByte = dims.length): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(4 + 4 * dims.length + count);
  out.set([0, 0, 8, ndimByte]);
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  if (values) out.set(values, 4 + 4 * dims.length);
  return out;
}

/** A folder with the four Fashion-MNIST files (8 train, 4 test images of 4×4), `patch` replacing some. */
async function idxFolder(name: string, patch: Partial<Record<keyof typeof FASHION_MNIST_FILES, Uint8Array | null>>): Promise<string> {
  const dir = join(data, name);
  await mkdir(dir, { recursive: true });
  const files: Record<keyof typeof FASHION_MNIST_FILES, Uint8Array | null> = {
    trainImages: idx([8, 4, 4]),
    trainLabels: idx([8], new Uint8Array(8).fill(3)),
    testImages: idx([4, 4, 4]),
    testLabels: idx([4], new Uint8Array(4).fill(1)),
    ...patch,
  };
  for (const [k, bytes] of Object.entries(files)) if (bytes) await writeFile(join(dir, FASHION_MNIST_FILES[k as keyof typeof FASHION_MNIST_FILES]), bytes);
  return dir;
}

const imageSet = () =>
  encodeBundle({ meta: { kind: 'image-set', split: 'x', source: 'test', count: 2, height: 2, width: 2, classes: 10 }, arrays: { images: new Uint8Array(8), labels: new Uint8Array(2) } });

/** A file in `data` holding `bytes`. */
async function file(name: string, bytes: Uint8Array | string): Promise<string> {
  const path = join(data, name);
  await writeFile(path, bytes);
  return path;
}

/** A pipeline (validation 2 of 8 samples) on `source` that must fail in its first activity attempt with `expect`. */
function failingRun(source: () => Promise<string>, expect: RegExp): () => Promise<Outcome> {
  return async () => {
    const { runId, handle } = await stack.lp.startPipeline({ ...GOOD, name: 'bad', data: { source: await source(), validationSize: 2 } });
    started.add(runId);
    await assert.rejects(handle.result(), (e: Error) => {
      let root: Error = e;
      while (root.cause instanceof Error) root = root.cause;
      assert.match(root.message, expect);
      assert.ok(oneLine(root.message), root.message);
      assert.equal((root as { nonRetryable?: boolean }).nonRetryable, true, 'the failure is non-retryable');
      return true;
    });
    const events = (await handle.fetchHistory()).events ?? [];
    const startedEvents = events.filter((e) => e.activityTaskStartedEventAttributes);
    const failed = events.filter((e) => e.activityTaskFailedEventAttributes);
    assert.equal(failed.length, 1, 'one activity failed');
    const attempt = startedEvents.find((e) => Number(e.eventId) === Number(failed[0]!.activityTaskFailedEventAttributes!.startedEventId))!.activityTaskStartedEventAttributes!.attempt;
    assert.equal(attempt, 1, 'the failing activity ran once: attempt 1');
    return { kind: 'workflow', runId };
  };
}

/** A call that must throw a non-retryable error whose one-line message matches `expect`. */
function refusedCall(fn: () => unknown, expect: RegExp): () => Promise<Outcome> {
  return async () => {
    await assert.rejects((async () => fn())(), (e: Error & { nonRetryable?: boolean }) => {
      assert.match(e.message, expect);
      assert.ok(oneLine(e.message), e.message);
      assert.equal(e.nonRetryable, true, `${e.name} is non-retryable`);
      return true;
    });
    return { kind: 'refused' };
  };
}

/** A request to the in-process API that must answer `status` with the error JSON, its message matching `expect`. */
function refusedRequest(method: string, path: string, body: string | undefined, status: number, expect: RegExp, contentType = 'application/json'): () => Promise<Outcome> {
  return async () => {
    const r = await fetch(`${base}${path}`, { method, body, headers: body === undefined ? {} : { 'content-type': contentType } });
    const reply = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(r.status, status, JSON.stringify(reply));
    assert.match(reply.error.message, expect);
    assert.ok(oneLine(reply.error.message), reply.error.message);
    assert.equal(typeof reply.error.code, 'string');
    return { kind: 'refused' };
  };
}
const json = (v: unknown) => JSON.stringify(v);

/** `lightpath <args>` must exit 2 with one stderr line matching `expect`. */
function refusedCli(args: string[] | (() => Promise<string[]>), expect: RegExp): () => Promise<Outcome> {
  return async () => {
    const r = await cli(typeof args === 'function' ? await args() : args);
    assert.equal(r.status, 2, `exit 2: ${r.stderr}`);
    assert.ok(oneLine(r.stderr), `one stderr line: ${r.stderr}`);
    assert.match(r.stderr, expect);
    return { kind: 'refused' };
  };
}

/** A config file in `data`. */
const yamlFile = (name: string, text: string) => () => file(name, text);
const loadRefused = (name: string, text: string, expect: RegExp) => refusedCall(async () => loadConfigFile(await yamlFile(name, text)()), expect);

function aliasBomb(): string {
  let y = 'a: &a [x, x, x, x, x, x, x, x, x]\n';
  let prev = 'a';
  for (let i = 0; i < 9; i++) {
    y += `l${i}: &l${i} [${Array(9).fill(`*${prev}`).join(', ')}]\n`;
    prev = `l${i}`;
  }
  return y;
}

const cases: Case[] = [
  // Config YAML (parsed in-process as the CLI does; a few through the CLI below).
  { group: 'config', name: 'wrong type', run: loadRefused('c1.yaml', 'train:\n  epochs: three\n', /c1\.yaml: train\.epochs: /) },
  { group: 'config', name: 'zero epochs', run: loadRefused('c2.yaml', 'train:\n  epochs: 0\n', /c2\.yaml: train\.epochs: /) },
  { group: 'config', name: 'momentum above 1', run: loadRefused('c3.yaml', 'train:\n  momentum: 2\n', /c3\.yaml: train\.momentum: /) },
  { group: 'config', name: 'negative seed', run: loadRefused('c4.yaml', 'seed: -1\n', /c4\.yaml: seed: /) },
  { group: 'config', name: 'unknown top-level field', run: loadRefused('c5.yaml', 'trian:\n  epochs: 2\n', /c5\.yaml: \(root\): .*trian/) },
  { group: 'config', name: 'unknown nested field', run: loadRefused('c6.yaml', 'model:\n  hiden: [8]\n', /c6\.yaml: model: .*hiden/) },
  { group: 'config', name: 'band low above high', run: loadRefused('c7.yaml', 'search:\n  band: [0.9, 0.1]\n', /c7\.yaml: search\.band: low must be below high/) },
  { group: 'config', name: 'name with a path', run: loadRefused('c8.yaml', 'name: ../../etc\n', /c8\.yaml: name: /) },
  { group: 'config', name: 'not YAML', run: loadRefused('c9.yaml', 'train: [epochs\n', /c9\.yaml: not valid YAML/) },
  { group: 'config', name: 'YAML alias bomb', run: loadRefused('c10.yaml', aliasBomb(), /c10\.yaml: not valid YAML: Excessive alias count/) },
  { group: 'config', name: '10 MB file', run: loadRefused('c11.yaml', `name: demo\n#${'x'.repeat(10 * 1024 * 1024)}\n`, /c11\.yaml: \d+ bytes; a config file is at most/) },
  { group: 'config', name: 'missing file', run: refusedCall(() => loadConfigFile(join(data, 'nope.yaml')), /nope\.yaml: cannot read \(ENOENT\)/) },
  { group: 'config', name: 'a folder, not a file', run: refusedCall(() => loadConfigFile(data), /: not a file/) },
  {
    group: 'config',
    name: 'execution.store s3:// without a bucket (client)',
    run: refusedCall(() => stack.lp.startPipeline({ execution: { store: 's3://' } }), /execution\.store: store URI s3:\/\/: expected s3:\/\/bucket\/prefix/),
  },

  // IDX files: each a pipeline whose prepare activity fails once, non-retryably.
  {
    group: 'idx',
    name: 'truncated images',
    run: failingRun(() => idxFolder('idx-trunc', { trainImages: idx([8, 4, 4]).subarray(0, 60) }), /train-images-idx3-ubyte\.gz: header declares shape \[8, 4, 4\]/),
  },
  {
    group: 'idx',
    name: 'wrong magic',
    run: failingRun(() => idxFolder('idx-magic', { trainLabels: Uint8Array.from([1, 2, 8, 1, 0, 0, 0, 8, ...new Uint8Array(8)]) }), /train-labels-idx1-ubyte\.gz: bad IDX magic/),
  },
  { group: 'idx', name: 'wrong dimensions', run: failingRun(() => idxFolder('idx-dims', { testImages: idx([4, 16]) }), /t10k-images-idx3-ubyte\.gz: expected 3 dimensions/) },
  {
    group: 'idx',
    name: 'labels out of range',
    run: failingRun(() => idxFolder('idx-labels', { trainLabels: idx([8], Uint8Array.from([1, 2, 3, 12, 0, 0, 0, 0])) }), /train-labels-idx1-ubyte\.gz: label 12 at index 3 is outside 0\.\.9/),
  },
  { group: 'idx', name: 'image/label count mismatch', run: failingRun(() => idxFolder('idx-count', { testLabels: idx([3], new Uint8Array(3)) }), /t10k-labels-idx1-ubyte\.gz: 3 labels for 4 images/) },
  {
    group: 'idx',
    name: 'not gzip though it says so',
    run: failingRun(() => idxFolder('idx-gzip', { trainImages: Uint8Array.from([0x1f, 0x8b, 1, 2, 3]) }), /train-images-idx3-ubyte\.gz: not a valid gzip stream/),
  },
  { group: 'idx', name: 'a file missing', run: failingRun(() => idxFolder('idx-missing', { testLabels: null }), /t10k-labels-idx1-ubyte\.gz does not exist/) },

  // .lpb bundles named as a data source.
  { group: 'bundle', name: 'truncated', run: failingRun(() => file('trunc.lpb', imageSet().subarray(0, 40)), /trunc\.lpb is truncated/) },
  {
    group: 'bundle',
    name: 'wrong version',
    run: failingRun(() => file('v2.lpb', Uint8Array.from([...new TextEncoder().encode('LPB2'), ...imageSet().subarray(4)])), /v2\.lpb is a lightpath tensor bundle of unsupported version 2/),
  },
  { group: 'bundle', name: 'not a bundle', run: failingRun(() => file('text.lpb', 'hello, not a bundle'), /text\.lpb is not a lightpath tensor bundle \(bad magic\)/) },
  {
    group: 'bundle',
    name: 'malformed header',
    run: failingRun(() => file('header.lpb', Uint8Array.from([...new TextEncoder().encode('LPB1'), 5, 0, 0, 0, ...new TextEncoder().encode('{"met')])), /header\.lpb has a malformed header/),
  },
  {
    group: 'bundle',
    name: 'hash mismatch (store read)',
    run: refusedCall(async () => {
      const store = openStore(stack.svc.store);
      const ref = await store.put(imageSet());
      return store.get({ ...ref, sha256: '0'.repeat(64) });
    }, /artifact s3:\/\/\S+ is corrupt: expected sha256 0{64}/),
  },

  // Store URIs.
  { group: 'store', name: 's3:// without a bucket', run: refusedCall(() => openStore('s3://'), /store URI s3:\/\/: expected s3:\/\/bucket\/prefix/) },
  { group: 'store', name: 'file:// outside the store', run: refusedCall(async () => openStore(join(data, 'store')).stat('file:///etc/passwd'), /store URI file:\/\/\/etc\/passwd: /) },
  {
    group: 'store',
    name: '.. segments',
    run: refusedCall(async () => openStore(join(data, 'store')).stat(`${pathToFileURL(join(data, 'store')).href}/../../../etc/passwd`), /store URI \S+\/etc\/passwd: has \. or \.\. segments/),
  },
  {
    group: 'store',
    name: 'percent-encoded ..',
    run: refusedCall(async () => openStore(join(data, 'store')).stat(`${pathToFileURL(join(data, 'store')).href}/%2e%2e/%2e%2e/etc/passwd`), /has \. or \.\. segments/),
  },
  {
    group: 'store',
    name: 'artifact URI with ..',
    run: refusedCall(() => storeForUri('s3://bucket/prefix/../other/blobs/x'), /store URI s3:\/\/bucket\/prefix\/\.\.\/other\/blobs\/x: has \. or \.\. segments/),
  },
  {
    group: 'store',
    name: 'another bucket in a store',
    run: refusedCall(async () => new S3Store({ bucket: 'lp', prefix: 'a' }).stat('s3://other/a/x'), /store URI s3:\/\/other\/a\/x: not inside the S3 store s3:\/\/lp\/a\//),
  },
  {
    group: 'store',
    name: 'named key escaping the store',
    run: refusedCall(async () => openStore(stack.svc.store).putNamed('../../escaped/manifest.json', new Uint8Array(1)), /a key with an empty, \. or \.\. segment/),
  },

  // Run and schedule ids.
  { group: 'ids', name: 'run id ..', run: refusedCall(() => findRun('..', stack.svc.store), /run id: "\.\." is not a run id/) },
  { group: 'ids', name: 'run id with /', run: refusedCall(() => findRun('a/../../b', stack.svc.store), /run id: "a\/\.\.\/\.\.\/b" is not a run id/) },
  { group: 'ids', name: 'resume of a run id with /', run: refusedCall(() => stack.lp.resumeRun('x/../y'), /run id: "x\/\.\.\/y" is not a run id/) },
  { group: 'ids', name: 'schedule id with /', run: refusedCall(() => stack.lp.schedules.describe('a/b'), /"a\/b" is not a schedule id/) },
  { group: 'ids', name: 'schedule id ..', run: refusedCall(() => stack.lp.schedules.create({ scheduleId: '..', from: 'x', watch: data, every: '1d' }), /schedule id "\.\.": use letters/) },
  { group: 'ids', name: 'HTTP run id with %2F', run: refusedRequest('GET', '/v1/runs/..%2F..%2Fetc', undefined, 400, /id: not a run id/) },
  { group: 'ids', name: 'HTTP resume of a run id with an encoded /', run: refusedRequest('POST', '/v1/runs/a%2F..%2Fb/resume', '{}', 400, /id: not a run id/) },
  { group: 'ids', name: 'HTTP schedule id with /', run: refusedRequest('POST', '/v1/schedules', json({ scheduleId: '../x', from: 'r', watch: data, every: '1d' }), 400, /scheduleId: /) },

  // HTTP bodies.
  { group: 'http', name: 'not JSON', run: refusedRequest('POST', '/v1/runs', '{"name": "x",', 400, /JSON/) },
  { group: 'http', name: 'not a JSON content type', run: refusedRequest('POST', '/v1/runs', 'name: x', 415, /Content-Type/, 'text/yaml') },
  { group: 'http', name: '100 MB body', run: refusedRequest('POST', '/v1/runs', `{"name":"${'x'.repeat(100 * 1024 * 1024)}"}`, 413, /too large|body/i) },
  { group: 'http', name: '10,000-deep nesting', run: refusedRequest('POST', '/v1/runs', `{"model":{"hidden":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`, 400, /model\.hidden/) },
  { group: 'http', name: 'wrong type in a config', run: refusedRequest('POST', '/v1/runs', json({ train: { epochs: 'three' } }), 400, /train\.epochs/) },
  { group: 'http', name: 'unknown field in a retrain', run: refusedRequest('POST', '/v1/retrains', json({ from: 'x', data: 'synthetic', extra: 1 }), 400, /extra/) },

  // Data sources and stores outside the data roots.
  { group: 'roots', name: 'HTTP data.source /etc', run: refusedRequest('POST', '/v1/runs', json({ data: { source: '/etc' } }), 400, /data\.source: \/etc is outside the data roots/) },
  { group: 'roots', name: 'HTTP data.source with ..', run: refusedRequest('POST', '/v1/runs', json({ data: { source: `${data}/../../etc` } }), 400, /data\.source: .* is outside the data roots/) },
  {
    group: 'roots',
    name: 'HTTP data.source file:// with %2e%2e',
    run: refusedRequest('POST', '/v1/runs', json({ data: { source: `${pathToFileURL(data).href}/%2e%2e/x` } }), 400, /data\.source: .* has \. or \.\. segments/),
  },
  {
    group: 'roots',
    name: 'HTTP execution.store elsewhere',
    run: refusedRequest('POST', '/v1/runs', json({ execution: { store: '/tmp/elsewhere' } }), 400, /execution\.store: \/tmp\/elsewhere is outside the data roots/),
  },
  {
    group: 'roots',
    name: 'HTTP retrain data /etc/passwd',
    run: refusedRequest('POST', '/v1/retrains', json({ from: 'x', data: '/etc/passwd#1/2' }), 400, /data: \/etc\/passwd is outside the data roots/),
  },
  {
    group: 'roots',
    name: 'HTTP schedule watch /etc',
    run: refusedRequest('POST', '/v1/schedules', json({ scheduleId: 'w', from: 'r', watch: '/etc', every: '1d' }), 400, /watch: \/etc is outside the data roots/),
  },
  {
    group: 'roots',
    name: 'HTTP schedule watch in another bucket',
    run: refusedRequest('POST', '/v1/schedules', json({ scheduleId: 'w', from: 'r', watch: 's3://other/in', every: '1d' }), 400, /watch: s3:\/\/other\/in is outside/),
  },
  { group: 'roots', name: 'worker: data.source outside the roots', run: failingRun(async () => '/usr/share', /data\.source: \/usr\/share is outside the data roots/) },

  // CLI arguments (subprocesses).
  { group: 'cli', name: 'unknown command', run: refusedCli(['frobnicate'], /unknown command 'frobnicate'/) },
  { group: 'cli', name: 'missing config argument', run: refusedCli(['run'], /missing required argument 'config'/) },
  { group: 'cli', name: 'invalid --slots', run: refusedCli(['worker', '--slots', '0'], /--slots <n>.*expected a positive integer/) },
  { group: 'cli', name: 'report of a run id with ..', run: refusedCli(['report', '../../etc'], /run id: "\.\.\/\.\.\/etc" is not a run id/) },
  { group: 'cli', name: 'alias bomb config', run: refusedCli(async () => ['run', await file('bomb.yaml', aliasBomb())], /bomb\.yaml: not valid YAML: Excessive alias count/) },
  {
    group: 'cli',
    name: 'config with execution.store s3://',
    run: refusedCli(async () => ['run', await file('s3.yaml', 'execution:\n  store: "s3://"\n')], /execution\.store: store URI s3:\/\/: expected s3:\/\/bucket\/prefix/),
  },
  { group: 'cli', name: 'schedule id with /', run: refusedCli(['schedule', 'describe', 'a/b'], /"a\/b" is not a schedule id/) },
];

/** Runs `fns` at most `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: n }, async () => {
      for (let t = queue.shift(); t; t = queue.shift()) await fn(t);
    }),
  );
}

test(`${cases.length} bad inputs are refused with one line, non-retryably, starting nothing and leaving nothing; everything stays up`, async () => {
  assert.ok(cases.length >= 40, `${cases.length} cases`);
  // The API in-process, on the stack's client (built here: the stack's `before` has connected it by now).
  app = await buildServer(stack.lp);
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  const failures: string[] = [];
  const outcome = new Map<string, Outcome>();
  const runCase = async (c: Case) => {
    try {
      outcome.set(`${c.group}: ${c.name}`, await c.run());
    } catch (e) {
      failures.push(`${c.group}: ${c.name}: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`);
    }
  };
  // Workflow cases run together; CLI subprocesses a few at a time (2 cores); the rest one by one.
  await Promise.all([
    pool(
      cases.filter((c) => c.group === 'cli'),
      3,
      runCase,
    ),
    Promise.all(cases.filter((c) => c.group === 'idx' || (c.group === 'bundle' && c.name !== 'hash mismatch (store read)') || c.name.startsWith('worker:')).map(runCase)),
    pool(
      cases.filter((c) => c.group !== 'cli' && c.group !== 'idx' && !(c.group === 'bundle' && c.name !== 'hash mismatch (store read)') && !c.name.startsWith('worker:')),
      1,
      runCase,
    ),
  ]);
  for (const [name, o] of outcome) process.stdout.write(`${o.kind === 'refused' ? 'refused up front' : `failed in ${o.runId}`}: ${name}\n`);
  assert.deepEqual(failures, [], failures.join('\n'));

  // A good pipeline through the API completes after all of them: the server and the workers stay up.
  const r = await fetch(`${base}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json(GOOD) });
  assert.equal(r.status, 202, await r.clone().text());
  const { runId } = (await r.json()) as { runId: string };
  const result = await stack.lp.result(runId);
  assert.equal(result.runId, runId);
  started.add(runId);

  // Nothing else started: the workflows on the server are exactly the cases' runs and the good one.
  const deadline = Date.now() + 60_000;
  let listed: string[] = [];
  for (;;) {
    listed = [];
    for await (const w of stack.svc.client.workflow.list()) listed.push(w.workflowId);
    if ([...started].every((id) => listed.includes(id)) || Date.now() > deadline) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  assert.deepEqual(listed.sort(), [...started].sort(), 'no workflow started for input refused up front');

  // No partial artifact: no temporary object in the store, no temporary file in the local store.
  const tmp: string[] = [];
  for await (const o of openStore(stack.svc.store).list('tmp/')) tmp.push(o.uri);
  assert.deepEqual(tmp, []);
  process.stdout.write(`${cases.length} bad-input cases passed (${[...outcome.values()].filter((o) => o.kind === 'workflow').length} failed a workflow on attempt 1, the rest refused up front)\n`);
});
