/**
 * S3 artifact store (AWS S3 or any S3-compatible store such as MinIO).
 *
 * Credentials come from the standard AWS chain (env, shared config, instance
 * roles); the endpoint from `LIGHTPATH_S3_ENDPOINT` or the SDK's own
 * `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`. Path-style addressing is used so
 * self-hosted stores work without DNS wildcards. A single PUT is atomic in S3;
 * streamed uploads go to a temporary key (multipart) and are copied into place.
 * Every request rides out store outages (network errors, 5xx) for the store retry
 * budget, then fails naming the endpoint (storage/retry.ts).
 */
import { S3Client, GetObjectCommand, HeadObjectCommand, PutObjectCommand, CopyObjectCommand, DeleteObjectCommand, ListObjectsV2Command, NoSuchKey, NotFound } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { blobKey, checkKey, type ArtifactRef, type ArtifactStore, type ListedObject } from './artifact-store.js';
import { HashingStream, sha256Hex, verify, verifyingStream } from './hash.js';
import { MissingArtifactError, BadStoreUriError } from '../contracts/errors.js';
import { withStoreRetry } from './retry.js';

/** S3 connection options; everything not given comes from the AWS environment. */
export interface S3StoreOptions {
  bucket: string;
  prefix?: string;
  endpoint?: string;
  region?: string;
}

/** Whether an S3 error says the object (or bucket) does not exist. */
export function isNotFound(e: unknown): boolean {
  return e instanceof NoSuchKey || e instanceof NotFound || (e as { name?: string }).name === 'NotFound';
}

/** An S3 client as lightpath configures it: path-style, endpoint and region from `opts`, else the environment. */
export function s3Client(opts: Pick<S3StoreOptions, 'endpoint' | 'region'> = {}): S3Client {
  const endpoint = opts.endpoint ?? process.env.LIGHTPATH_S3_ENDPOINT;
  return new S3Client({
    forcePathStyle: true,
    region: opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    // A store that accepts a connection but never answers is an outage too: give up on the request (and retry it).
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
  });
}

export class S3Store implements ArtifactStore {
  readonly root: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  /** Where requests go, as errors name it. */
  private readonly endpoint: string;

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (this.prefix) this.prefix += '/';
    this.root = `s3://${this.bucket}/${this.prefix}`;
    this.client = s3Client(opts);
    this.endpoint = `${opts.endpoint ?? process.env.LIGHTPATH_S3_ENDPOINT ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL ?? 'AWS S3'} (${this.root})`;
  }

  /** Runs one request, retrying transient faults for the store retry budget. */
  private retry<T>(what: string, op: () => Promise<T>): Promise<T> {
    return withStoreRetry(this.endpoint, what, op);
  }

  /**
   * The key of `uri`, which must be in this store's bucket under its prefix and
   * pass `checkKey` (no `.`/`..` segments: S3 keys are literal, but proxies and
   * other tools normalise them, so such a key could name another object there).
   */
  private objectKey(uri: string): string {
    if (typeof uri !== 'string' || !uri.startsWith(this.root)) throw new BadStoreUriError(String(uri), `not inside the S3 store ${this.root}`);
    checkKey(uri.slice(this.root.length), this.root);
    return uri.slice(`s3://${this.bucket}/`.length);
  }

  private uriOf(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  async put(data: Uint8Array): Promise<ArtifactRef> {
    const sha256 = sha256Hex(data);
    const key = this.prefix + blobKey(sha256);
    const existing = await this.stat(this.uriOf(key));
    if (!existing || existing.bytes !== data.length) {
      await this.retry(`PUT ${this.uriOf(key)}`, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data, ContentLength: data.length })));
    }
    return { uri: this.uriOf(key), sha256, bytes: data.length };
  }

  async putStream(data: Readable): Promise<ArtifactRef> {
    const tmpKey = `${this.prefix}tmp/${randomBytes(8).toString('hex')}`;
    const hasher = new HashingStream();
    const body = data.pipe(hasher);
    try {
      await new Upload({ client: this.client, params: { Bucket: this.bucket, Key: tmpKey, Body: body } }).done();
      const sha256 = hasher.digest();
      const key = this.prefix + blobKey(sha256);
      await this.retry(`COPY ${this.uriOf(key)}`, () => this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: key, CopySource: `${this.bucket}/${tmpKey}` })));
      return { uri: this.uriOf(key), sha256, bytes: hasher.bytes };
    } finally {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: tmpKey })).catch(() => undefined);
    }
  }

  private async getObject(uri: string): Promise<Readable> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(uri) }));
      return out.Body as Readable;
    } catch (e) {
      if (isNotFound(e)) throw new MissingArtifactError(uri);
      throw e;
    }
  }

  async get(ref: ArtifactRef): Promise<Uint8Array> {
    const data = await this.retry(`GET ${ref.uri}`, async () => {
      const body = await this.getObject(ref.uri);
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    });
    verify(ref.uri, data, ref.sha256);
    return data;
  }

  async getStream(ref: ArtifactRef): Promise<Readable> {
    return (await this.retry(`GET ${ref.uri}`, () => this.getObject(ref.uri))).pipe(verifyingStream(ref.uri, ref.sha256));
  }

  async stat(uri: string): Promise<{ bytes: number } | null> {
    try {
      const key = this.objectKey(uri);
      const h = await this.retry(`HEAD ${uri}`, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
      return { bytes: h.ContentLength ?? 0 };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    let token: string | undefined;
    do {
      const page = token;
      const out = await this.retry(`LIST ${this.root}${prefix}`, () => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: page })));
      for (const o of out.Contents ?? []) yield { uri: this.uriOf(o.Key!), bytes: o.Size ?? 0 };
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async putNamed(key: string, data: Uint8Array): Promise<string> {
    checkKey(key, this.root);
    const full = this.prefix + key;
    await this.retry(`PUT ${this.uriOf(full)}`, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: full, Body: data, ContentLength: data.length })));
    return this.uriOf(full);
  }

  keyOf(uri: string): string {
    return this.objectKey(uri).slice(this.prefix.length);
  }

  async getNamed(key: string): Promise<Uint8Array | null> {
    checkKey(key, this.root);
    try {
      return await this.retry(`GET ${this.uriOf(this.prefix + key)}`, async () => {
        const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
        return await out.Body!.transformToByteArray();
      });
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async remove(uri: string): Promise<boolean> {
    if (!(await this.stat(uri))) return false;
    const key = uri.slice(`s3://${this.bucket}/`.length);
    await this.retry(`DELETE ${uri}`, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
    return true;
  }
}
