/**
 * The HTTP API on a real Temporal dev server, real MinIO and real workers:
 * `lightpath serve` as its own process (bearer token, bad bodies naming the field,
 * a pipeline started, followed over SSE and listed, resume/cancel conflicts, GLAI
 * retrain and merge, retraining schedules, the OpenAPI document, no secret in its
 * logs), refusing to bind a public address without a token, and the app built
 * in-process on a client whose Temporal goes away (503).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import { useStack } from '../helpers/services.js';
import { connect } from '../../client/connect.js';
import { buildServer } from '../../http/server.js';
import { loggerOptions } from '../../http/logging.js';
import { registerSecret } from '../helpers/secret-scan.js';

const stack = useStack(['cpu', 'gpu']);
const TOKEN = randomBytes(24).toString('hex');
registerSecret(TOKEN);

const config = {
  name: 'http',
  data: { source: 'synthetic', validationSize: 300 },
  model: { hidden: [24, 12] },
  train: { epochs: 2, batchSize: 50, learningRate: 0.01 },
  glai: { enabled: true },
};

/** `lightpath serve <args>` in its own process, with everything it prints kept. */
function spawnServe(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

let server: ReturnType<typeof spawnServe>;
let base = '';
let serving: Promise<void> | undefined;

/** Starts `lightpath serve --port 0` on the stack, once (the stack's `before` has set the environment by the first test). */
function served(): Promise<void> {
  serving ??= (async () => {
    server = spawnServe(['--port', '0'], { LIGHTPATH_API_TOKEN: TOKEN, LIGHTPATH_DATA_ROOTS: tmpdir() }); // the test's watch folders are under tmpdir()
    const deadline = Date.now() + 120_000;
    for (;;) {
      const m = /lightpath API on (http:\/\/\S+) /.exec(server.output());
      if (m) {
        base = m[1]!;
        return;
      }
      assert.equal(server.child.exitCode, null, `serve exited: ${server.output()}`);
      assert.ok(Date.now() < deadline, `serve did not start: ${server.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return serving;
}

after(async () => {
  if (server?.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
});

interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

/** A request to the served API, with the token unless `token` says otherwise (null: no Authorization header). */
async function api(method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<Reply> {
  await served();
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

/** Polls GET /v1/runs/:id until the run has closed; returns its description. */
async function closed(runId: string, timeoutMs = 300_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await api('GET', `/v1/runs/${runId}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    if (r.body.status !== 'RUNNING') return r.body;
    assert.ok(Date.now() < deadline, `${runId} still running`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

/** The Server-Sent Events of GET /v1/runs/:id/events, until the server ends the stream. */
async function events(runId: string): Promise<{ event: string; data: any }[]> {
  await served();
  const res = await fetch(`${base}/v1/runs/${runId}/events`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('event: '))
    .map((block) => {
      const [event, data] = block.split('\n');
      return { event: event!.slice('event: '.length), data: JSON.parse(data!.slice('data: '.length)) };
    });
}

test('serve refuses a non-loopback address without LIGHTPATH_API_TOKEN, with one line saying what to do', async () => {
  const refused = spawnServe(['--host', '0.0.0.0', '--port', '0'], { LIGHTPATH_API_TOKEN: '' });
  assert.equal(await refused.exited, 2);
  const lines = refused.output().trim().split('\n');
  assert.equal(lines.length, 1, refused.output());
  assert.match(lines[0]!, /^error: --host 0\.0\.0\.0 is not a loopback address.*LIGHTPATH_API_TOKEN.*127\.0\.0\.1/);
});

test('auth: /v1 needs the bearer token (401 missing, 401 wrong, with a JSON message); /healthz and /openapi.json do not', async () => {
  const missing = await api('GET', '/v1/runs', undefined, null);
  assert.equal(missing.status, 401);
  assert.equal(missing.body.error.code, 'unauthorized');
  assert.match(missing.body.error.message, /missing bearer token/);
  assert.match(missing.headers.get('www-authenticate')!, /^Bearer/);

  const wrong = await api('GET', '/v1/runs', undefined, `${TOKEN}x`);
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error.code, 'invalid_token');
  assert.match(wrong.body.error.message, /not valid/);
  assert.ok(!JSON.stringify(wrong.body).includes(TOKEN));

  const health = await api('GET', '/healthz', undefined, null);
  assert.deepEqual([health.status, health.body], [200, { status: 'ok', temporal: 'serving' }]);

  const doc = await api('GET', '/openapi.json', undefined, null);
  assert.equal(doc.status, 200);
  assert.equal(doc.body.openapi, '3.1.0');
  for (const path of ['/v1/runs', '/v1/runs/{id}', '/v1/runs/{id}/progress', '/v1/runs/{id}/events', '/v1/runs/{id}/cancel', '/v1/runs/{id}/resume', '/v1/retrains', '/v1/merges', '/healthz']) {
    assert.ok(doc.body.paths[path], `${path} in the document`);
  }
  assert.ok(doc.body.paths['/v1/runs'].post.requestBody.content['application/json'].schema.$ref, 'the pipeline config schema');
  assert.deepEqual(doc.body.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', description: "the server's LIGHTPATH_API_TOKEN" });
});

test('bad bodies: 400 naming the field; unknown runs: 404', async () => {
  const bad = await api('POST', '/v1/runs', { ...config, model: { hidden: [-1] } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_request');
  assert.match(bad.body.error.message, /model\.hidden/);
  assert.deepEqual(
    bad.body.error.issues.map((i: { path: string }) => i.path),
    ['model.hidden.0'],
  );

  const typo = await api('POST', '/v1/runs', { ...config, trian: {} });
  assert.equal(typo.status, 400);
  assert.match(typo.body.error.message, /trian/);

  const noMerge = await api('POST', '/v1/merges', {});
  assert.equal(noMerge.status, 400);
  assert.match(noMerge.body.error.message, /`from`/);

  for (const path of ['/v1/runs/lightpath-train-nope', '/v1/runs/lightpath-train-nope/progress', '/v1/runs/lightpath-train-nope/events']) {
    const r = await api('GET', path);
    assert.equal(r.status, 404, path);
    assert.equal(r.body.error.code, 'not_found');
    assert.match(r.body.error.message, /lightpath-train-nope/);
  }
  assert.equal((await api('POST', '/v1/runs/lightpath-train-nope/cancel')).status, 404);
});

let runId = '';

test('POST /v1/runs starts a pipeline (202 + Location); its progress streams over SSE; GET describes it until COMPLETED; GET /v1/runs lists it', async () => {
  const started = await api('POST', '/v1/runs', config);
  assert.equal(started.status, 202, JSON.stringify(started.body));
  runId = started.body.runId;
  assert.match(runId, /^lightpath-train-http-/);
  assert.equal(started.headers.get('location'), `/v1/runs/${runId}`);

  const stillRunning = await api('POST', `/v1/runs/${runId}/resume`, {});
  assert.equal(stillRunning.status, 409);
  assert.equal(stillRunning.body.error.code, 'conflict');
  assert.match(stillRunning.body.error.message, /still running/);

  const [stream, info] = await Promise.all([events(runId), closed(runId)]);
  assert.equal(info.status, 'COMPLETED', info.failure);
  assert.equal(info.kind, 'pipeline');
  assert.equal(info.result.runId, runId);
  assert.ok(info.result.testAccuracy > 0.3, `test accuracy ${info.result.testAccuracy}`);
  assert.ok(info.result.glai.estimator, 'GLAI estimator');
  assert.ok(
    stream.some((e) => e.event === 'progress' && typeof e.data.epoch === 'number'),
    JSON.stringify(stream),
  );
  assert.equal(stream.at(-1)!.event, 'end');
  assert.equal(stream.at(-1)!.data.status, 'COMPLETED');

  const progress = await api('GET', `/v1/runs/${runId}/progress`);
  assert.equal(progress.body.stage, 'done');

  const listed = await api('GET', '/v1/runs?kind=pipeline&status=COMPLETED&limit=50');
  assert.equal(listed.status, 200);
  assert.ok(
    listed.body.some((r: { runId: string; status: string }) => r.runId === runId && r.status === 'COMPLETED'),
    JSON.stringify(listed.body),
  );
  assert.equal((await api('GET', '/v1/runs?kind=nonsense')).status, 400);
});

test('resume and cancel: 409 where the run state forbids them; resume fromStage starts a new run that can be cancelled', async () => {
  const completed = await api('POST', `/v1/runs/${runId}/resume`);
  assert.equal(completed.status, 409);
  assert.match(completed.body.error.message, /give `fromStage`/);
  const cancelDone = await api('POST', `/v1/runs/${runId}/cancel`);
  assert.equal(cancelDone.status, 409);
  assert.match(cancelDone.body.error.message, /COMPLETED/);

  const resumed = await api('POST', `/v1/runs/${runId}/resume`, { fromStage: 'evaluate' });
  assert.equal(resumed.status, 202, JSON.stringify(resumed.body));
  assert.equal(resumed.body.resumedFrom, runId);
  const cancelled = await api('POST', `/v1/runs/${resumed.body.runId}/cancel`);
  assert.deepEqual([cancelled.status, cancelled.body], [202, { runId: resumed.body.runId, cancelRequested: true }]);
  const info = await closed(resumed.body.runId);
  assert.equal(info.status, 'CANCELLED');
  assert.equal(info.resumedFrom, runId);
});

test('GLAI: POST /v1/retrains updates the estimator with new data only; POST /v1/merges sums estimators', async () => {
  const first = (await api('GET', `/v1/runs/${runId}`)).body.result.glai;
  const retrain = await api('POST', '/v1/retrains', { from: runId, data: 'synthetic#1/4' });
  assert.equal(retrain.status, 202, JSON.stringify(retrain.body));
  const retrained = await closed(retrain.body.runId);
  assert.equal(retrained.status, 'COMPLETED', retrained.failure);
  assert.equal(retrained.kind, 'retrain');
  assert.ok(retrained.result.estimator.count > first.estimator.count);
  assert.equal(retrained.result.estimator.structureId, first.structure.id);
  assert.equal((await api('GET', `/v1/runs/${retrain.body.runId}/progress`)).status, 404, 'a retrain has no progress');

  const merge = await api('POST', '/v1/merges', { from: [runId, retrain.body.runId] });
  assert.equal(merge.status, 202, JSON.stringify(merge.body));
  const merged = await closed(merge.body.runId);
  assert.equal(merged.status, 'COMPLETED', merged.failure);
  assert.equal(merged.result.estimator.count, first.estimator.count + retrained.result.estimator.count);

  const unknown = await api('POST', '/v1/retrains', { from: 'lightpath-train-nope', data: 'synthetic' });
  assert.equal(unknown.status, 404);
});

test('schedules: create (201), list, describe, pause and unpause, trigger (202, the run completes), delete (204); conflicts 409, unknown 404', async () => {
  const watch = await mkdtemp(join(tmpdir(), 'lightpath-http-watch-'));
  const both = await api('POST', '/v1/schedules', { scheduleId: 'http-nightly', from: runId, watch, every: '1d', cron: '@daily' });
  assert.equal(both.status, 400);
  assert.match(both.body.error.message, /exactly one of `every` and `cron`/);

  const created = await api('POST', '/v1/schedules', { scheduleId: 'http-nightly', from: runId, watch, every: '1d' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.headers.get('location'), '/v1/schedules/http-nightly');
  assert.deepEqual([created.body.every, created.body.paused, created.body.state], ['1d', false, null]);
  assert.equal((await api('POST', '/v1/schedules', { scheduleId: 'http-nightly', from: runId, watch, every: '1d' })).status, 409);

  const paused = await api('POST', '/v1/schedules/http-nightly/pause', { note: 'maintenance' });
  assert.deepEqual([paused.status, paused.body.paused, paused.body.note], [200, true, 'maintenance']);
  assert.equal((await api('POST', '/v1/schedules/http-nightly/unpause')).body.paused, false);
  const listed = await api('GET', '/v1/schedules');
  assert.ok(
    listed.body.some((s: { scheduleId: string; watch: string }) => s.scheduleId === 'http-nightly'),
    JSON.stringify(listed.body),
  );

  const triggered = await api('POST', '/v1/schedules/http-nightly/trigger', {});
  assert.equal(triggered.status, 202, JSON.stringify(triggered.body));
  const run = await closed(triggered.body.runId);
  assert.deepEqual([run.kind, run.status], ['scheduled-retrain', 'COMPLETED']);
  assert.equal((await api('GET', '/v1/schedules/http-nightly')).body.temporal.actionsTaken, 1);

  assert.equal((await api('DELETE', '/v1/schedules/http-nightly')).status, 204);
  const gone = await api('GET', '/v1/schedules/http-nightly');
  assert.deepEqual([gone.status, gone.body.error.code], [404, 'not_found']);
});

test('the served logs record requests but never the token or the S3 credentials', async () => {
  await served();
  const logs = server.output();
  assert.match(logs, /"url":"\/v1\/runs"/);
  assert.ok(!logs.includes(TOKEN), 'token in the logs');
  assert.ok(!logs.includes(stack.svc.minio.secretAccessKey), 'S3 secret in the logs');
  assert.ok(!/"authorization":"Bearer/i.test(logs), 'an Authorization header in the logs');
});

/** A TCP proxy to `target` (host:port) that can be shut, cutting every connection. */
async function proxy(target: string): Promise<{ address: string; shut(): Promise<void> }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<Socket>();
  const srv = createServer((client) => {
    const upstream = tcpConnect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    address: `127.0.0.1:${(srv.address() as AddressInfo).port}`,
    async shut() {
      const done = new Promise((r) => srv.close(r));
      for (const s of sockets) s.destroy();
      await done;
    },
  };
}

test('in process: Temporal unreachable → 503 (and /healthz 503); without a token only loopback Host names are answered', async () => {
  const tunnel = await proxy(stack.svc.temporal.address);
  const lp = await connect({ address: tunnel.address });
  let logs = '';
  const app = await buildServer(lp, { logger: loggerOptions({ write: (line) => void (logs += line) }) });
  try {
    const ok = await app.inject({ method: 'GET', url: '/v1/runs?limit=1' });
    assert.equal(ok.statusCode, 200, ok.body);
    const foreign = await app.inject({ method: 'GET', url: '/v1/runs', headers: { host: 'attacker.example:8080' } });
    assert.equal(foreign.statusCode, 403);
    assert.match(foreign.json().error.message, /not a loopback name/);

    await tunnel.shut();
    const down = await app.inject({ method: 'GET', url: '/v1/runs' });
    assert.equal(down.statusCode, 503, down.body);
    assert.equal(down.json().error.code, 'temporal_unavailable');
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 503);
    assert.match(logs, /"statusCode":503/);
  } finally {
    await app.close();
    await lp.close();
  }
});
