/** BlobStore on an S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, Ceph, SeaweedFS). */
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import {
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { checkKey, joinUrl, storedFileError, type BlobStore, type Composer, type PutResult, type StoredSize } from './blob-store.js';
import { streamComposer } from './stream-composer.js';
import { contentTypeOf } from './content-types.js';
import { createMeter, sha256Hex } from './meter.js';

/** Larger bodies go up in parts of this size (S3's minimum part is 5 MiB). */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** S3 refuses presigned URLs that live longer than 7 days. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export interface S3BlobStoreOptions {
  bucket: string;
  /** Unset: AWS S3 itself. For R2, MinIO, Ceph, SeaweedFS: their URL. */
  endpoint?: string;
  region: string;
  /** `endpoint/bucket/key` instead of `bucket.endpoint/key` (most self-hosted servers want this). */
  forcePathStyle: boolean;
  /** How publicUrl links: a public bucket or CDN base URL, or a path the API answers (see mediaUrl). */
  publicBaseUrl: string;
  /** Seconds a presigned GET stays valid (presignedUrl). */
  presignSeconds?: number;
  partSize?: number;
  /** Unset: the standard AWS chain (env, shared files, SSO, container and instance roles). */
  credentials?: S3ClientConfig['credentials'];
  /** Time to establish a connection; an unreachable endpoint fails within it (plus the SDK's retries). */
  connectTimeoutMs?: number;
}

/** Bad configuration found at start: the message says what to fix. */
export class S3ConfigError extends Error {}

const statusOf = (err: unknown): number | undefined => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
const isNotFound = (err: unknown): boolean => statusOf(err) === 404 || (err instanceof S3ServiceException && (err.name === 'NotFound' || err.name === 'NoSuchKey'));

export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly partSize: number;

  constructor(private readonly options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials: options.credentials,
      // Self-hosted servers lag behind AWS's newer default checksums (CRC32 trailers); send them only when required.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      requestHandler: { connectionTimeout: options.connectTimeoutMs ?? 5000 },
    });
  }

  /** Fails fast with a message naming the fix: a missing bucket, refused credentials, an unreachable endpoint. */
  async verify(): Promise<void> {
    const where = `bucket "${this.bucket}" at ${this.options.endpoint ?? `AWS S3 (${this.options.region})`}`;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) throw new S3ConfigError(`S3_BUCKET: ${where} does not exist; create it first`);
      if (status === 401 || status === 403) {
        throw new S3ConfigError(`S3 credentials refused for ${where} (HTTP ${status}): check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the profile or role in use) and the bucket's policy`);
      }
      if (status === 301 || status === 400) throw new S3ConfigError(`S3: ${where} answered HTTP ${status}: check S3_REGION and S3_FORCE_PATH_STYLE`);
      if (status === undefined) {
        const reason = (err as Error).message || (err as Error).name;
        throw new S3ConfigError(`S3: cannot reach ${where}: ${reason}; check S3_ENDPOINT (and that credentials are configured)`);
      }
      throw err;
    }
  }

  async put(key: string, data: Buffer | Readable): Promise<PutResult> {
    checkKey(key);
    if (Buffer.isBuffer(data)) return this.putBuffer(key, data);
    const meter = createMeter();
    // A failing source destroys the meter with its error; the upload reading it then fails and aborts any
    // multipart upload it began (not upload.abort(): that rejects at once and aborts the parts later).
    const [piped, uploaded] = await Promise.allSettled([pipeline(data, meter.stream), this.upload(key, meter.stream).done()]);
    if (piped.status === 'rejected') throw piped.reason;
    if (uploaded.status === 'rejected') throw uploaded.reason;
    return meter.result();
  }

  /** Same bytes already there (content-addressed keys make this the common case): no upload at all. */
  private async putBuffer(key: string, data: Buffer): Promise<PutResult> {
    const result = { size: data.length, sha256: sha256Hex(data) };
    const existing = await this.head(key);
    if (existing && existing.ContentLength === data.length && existing.Metadata?.sha256 === result.sha256) return result;
    if (data.length > this.partSize) await this.upload(key, data, result.sha256).done();
    else {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data, ContentType: contentTypeOf(key), Metadata: { sha256: result.sha256 } }),
      );
    }
    return result;
  }

  /** lib-storage's Upload: one PUT for a small body, else a multipart upload it aborts on failure. */
  private upload(key: string, body: Buffer | Readable, sha256?: string): Upload {
    return new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentTypeOf(key), ...(sha256 ? { Metadata: { sha256 } } : {}) },
      partSize: this.partSize,
      queueSize: 4,
      leavePartsOnError: false,
    });
  }

  private async head(key: string) {
    try {
      return await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async get(key: string): Promise<Readable | null> {
    checkKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return res.Body instanceof Readable ? res.Body : null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** One GET each, all at once (the caller keeps a call to a few files). */
  async readMany(files: readonly StoredSize[]): Promise<Buffer[]> {
    return Promise.all(files.map(async (file) => {
      const body = await this.get(file.key);
      if (!body) throw storedFileError(file, null);
      const bytes = await buffer(body);
      if (bytes.length !== file.bytes) throw storedFileError(file, bytes.length);
      return bytes;
    }));
  }

  /** Streamed into one upload (multipart when large). */
  compose(key: string): Composer {
    return streamComposer(this, checkKey(key));
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(checkKey(key))) !== undefined;
  }

  publicUrl(key: string): string {
    return joinUrl(this.options.publicBaseUrl, key);
  }

  /** A GET URL signed for presignSeconds (default 1 h): the bucket stays private. */
  presignedUrl(key: string): Promise<string> {
    const expiresIn = Math.min(this.options.presignSeconds ?? 3600, MAX_PRESIGN_SECONDS);
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: checkKey(key) }), { expiresIn });
  }

  close(): void {
    this.client.destroy();
  }
}
