/**
 * Confinement: no URI or key reaches outside its store (local folder or S3
 * prefix), whatever its spelling (`..`, `%2e%2e`, symlinks, other buckets), and
 * data sources are confined to the data roots. S3 refusals happen before any
 * request, so no server is needed here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalStore } from '../../storage/local-store.js';
import { S3Store } from '../../storage/s3-store.js';
import { openStore, storeForUri } from '../../storage/open.js';
import { checkKey } from '../../storage/artifact-store.js';
import { outsideDataRoots, parseDataRoots } from '../../storage/data-roots.js';
import { BadStoreUriError } from '../../contracts/errors.js';

const bad = (e: unknown) => e instanceof BadStoreUriError && (e as BadStoreUriError).nonRetryable && !e.message.includes('\n');

async function tempDir(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `lp-confine-${name}-`));
}

test('local store: stat/get of file://<root>/../../../etc/passwd, raw or percent-encoded, is refused (the measured bug)', async () => {
  const dir = await tempDir('stat');
  try {
    const store = new LocalStore(dir);
    const ups = '../'.repeat(dir.split('/').length);
    for (const uri of [
      `${store.root}../../../etc/passwd`,
      `${store.root}${ups}etc/passwd`,
      `${store.root}%2e%2e/%2e%2e/%2e%2e/etc/passwd`,
      `${store.root}%2E%2E/%2E%2E/%2E%2E/etc/passwd`,
      `${store.root}blobs/../../outside`,
      `${store.root}./blobs`,
      'file:///etc/passwd',
      `${store.root}..%2f..%2fetc/passwd`,
      's3://bucket/etc/passwd',
    ]) {
      await assert.rejects(store.stat(uri), bad, `stat ${uri}`);
      await assert.rejects(store.get({ uri, sha256: '0'.repeat(64), bytes: 1 }), bad, `get ${uri}`);
      await assert.rejects(store.getStream({ uri, sha256: '0'.repeat(64), bytes: 1 }), bad, `getStream ${uri}`);
    }
    const ref = await store.put(new TextEncoder().encode('inside'));
    assert.deepEqual(await store.stat(ref.uri), { bytes: 6 }, 'a URI inside the store still works');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('local store: putNamed/getNamed refuse keys that escape, and write nothing outside', async () => {
  const parent = await tempDir('named');
  const dir = join(parent, 'store');
  await mkdir(dir);
  try {
    const store = new LocalStore(dir);
    const data = new TextEncoder().encode('{}');
    for (const key of [
      '../../escaped/manifest.json',
      '../escaped.json',
      'runs/../../escaped.json',
      '/etc/passwd',
      'runs\\..\\..\\escaped.json',
      'runs/x\0/manifest.json',
      'runs//manifest.json',
      'runs/./manifest.json',
      'runs/%2e%2e/%2e%2e/escaped.json',
      '',
    ]) {
      await assert.rejects(store.putNamed(key, data), bad, `putNamed ${JSON.stringify(key)}`);
      await assert.rejects(store.getNamed(key), bad, `getNamed ${JSON.stringify(key)}`);
    }
    assert.deepEqual((await readdir(parent)).sort(), ['store'], 'nothing was written next to the store');
    assert.deepEqual(await readdir(dir), [], 'nothing was written in it either');
    const uri = await store.putNamed('runs/r-1/manifest.json', data);
    assert.equal(uri, pathToFileURL(join(dir, 'runs/r-1/manifest.json')).href);
    assert.deepEqual(Buffer.from((await store.getNamed('runs/r-1/manifest.json'))!), Buffer.from(data));
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
});

test('local store: symlinks inside the store that point outside are refused, for reads and writes', async () => {
  const parent = await tempDir('link');
  const dir = join(parent, 'store');
  const outside = join(parent, 'outside');
  await mkdir(dir);
  await mkdir(outside);
  try {
    await writeFile(join(outside, 'secret'), 'secret');
    await symlink(join(outside, 'secret'), join(dir, 'secret-link'));
    await symlink(outside, join(dir, 'runs'));
    const store = new LocalStore(dir);
    await assert.rejects(store.stat(`${store.root}secret-link`), bad);
    await assert.rejects(store.getNamed('secret-link'), bad);
    await assert.rejects(store.putNamed('runs/x/manifest.json', new Uint8Array(1)), bad);
    await assert.rejects(stat(join(outside, 'x')), /ENOENT/, 'nothing written through the link');
    // A store whose own folder is reached through a symlink still works.
    await symlink(dir, join(parent, 'alias'));
    const aliased = new LocalStore(join(parent, 'alias'));
    const ref = await aliased.put(new TextEncoder().encode('ok'));
    assert.deepEqual(await aliased.stat(ref.uri), { bytes: 2 });
    await aliased.putNamed('runs-ok/m.json', new Uint8Array(1));
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
});

test('S3 store: URIs of another bucket or outside the prefix, and escaping keys, are refused before any request', async () => {
  const store = new S3Store({ bucket: 'lp', prefix: 'team-a', endpoint: 'http://127.0.0.1:9' });
  assert.equal(store.root, 's3://lp/team-a/');
  for (const uri of [
    's3://other-bucket/team-a/blobs/x',
    's3://lp/team-b/blobs/x',
    's3://lp/team-a/../team-b/x',
    's3://lp/team-a/%2e%2e/team-b/x',
    's3://lp/team-a-evil/x',
    's3:///team-a/x',
    'file:///etc/passwd',
  ]) {
    await assert.rejects(store.stat(uri), bad, `stat ${uri}`);
    await assert.rejects(store.get({ uri, sha256: '0'.repeat(64), bytes: 1 }), bad, `get ${uri}`);
  }
  for (const key of ['../team-b/manifest.json', 'runs/../../x', '/abs', 'a\\b', 'a\0b', 'runs/%2E%2E/x']) {
    await assert.rejects(store.putNamed(key, new Uint8Array(1)), bad, `putNamed ${JSON.stringify(key)}`);
    await assert.rejects(store.getNamed(key), bad, `getNamed ${JSON.stringify(key)}`);
  }
});

test('opening stores: s3:// without a bucket, dot segments in a prefix or in an artifact URI are refused', () => {
  for (const uri of ['s3://', 's3:///prefix', 's3://bucket/../other', 's3://bucket/a/%2e%2e/b', 'ftp://host/x']) assert.throws(() => openStore(uri), bad, uri);
  for (const uri of ['s3:///x', 'file:///tmp/store/../../etc/passwd', 'file:///tmp/%2e%2e/etc/passwd', 's3://b/p/../q/blobs/x', 'http://x/y']) assert.throws(() => storeForUri(uri), bad, uri);
  assert.ok(storeForUri('s3://b/p/blobs/sha256/abc'), 'a plain artifact URI of another store still opens (retrains read runs of other stores)');
});

test('checkKey accepts ordinary keys', () => {
  for (const key of ['runs/lightpath-train-demo-abc/manifest.json', 'schedules/nightly.v2/state.json', 'runs/a..b/x', 'blobs/sha256/ab']) checkKey(key, 'file:///s/');
});

test('data roots: built-ins and the store always, folders and prefixes as configured, after normalisation and symlinks', async () => {
  const parent = await tempDir('roots');
  const root = join(parent, 'data');
  await mkdir(join(root, 'idx'), { recursive: true });
  await mkdir(join(parent, 'elsewhere'));
  await symlink(join(parent, 'elsewhere'), join(root, 'link-out'));
  try {
    const roots = parseDataRoots(`${root}, s3://incoming/lab-1`, 's3://lp/store');
    for (const ok of [
      'fashion-mnist',
      'synthetic#2/5',
      root,
      join(root, 'idx'),
      `${join(root, 'idx')}#1/3`,
      pathToFileURL(join(root, 'idx')).href,
      's3://incoming/lab-1',
      's3://incoming/lab-1/x',
      's3://lp/store/blobs/sha256/x',
    ]) {
      assert.equal(await outsideDataRoots(ok, roots), null, ok);
    }
    for (const no of [
      '/etc',
      '/etc/passwd',
      `${root}/../elsewhere`,
      `${root}-sibling`,
      join(root, 'link-out'),
      `${pathToFileURL(root).href}/%2e%2e/elsewhere`,
      's3://incoming/lab-10',
      's3://incoming/lab-1/../lab-2',
      's3://other/x',
      's3://lp/store-b',
      'http://example.com/data',
      `${root}/x\0y`,
    ]) {
      const why = await outsideDataRoots(no, roots);
      assert.ok(why && !why.includes('\n'), `${no} is refused`);
    }
    const defaults = parseDataRoots(undefined, '/srv/lightpath/store');
    assert.equal(await outsideDataRoots('/srv/lightpath/store/blobs/sha256/x', defaults), null);
    assert.match((await outsideDataRoots('/home', defaults))!, /outside the data roots \(fashion-mnist, synthetic, \/srv\/lightpath\/store\); an operator adds/);
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
});
