/**
 * The BlobStore contract on a real S3-compatible server (SeaweedFS from scripts/services.sh, at S3_ENDPOINT),
 * plus what only S3 shows: HEAD before PUT, multipart for large files, presigned links, and the start-up
 * check that names a missing bucket, refused credentials or an unreachable endpoint.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Readable } from 'node:stream';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { S3BlobStore, S3ConfigError, type S3BlobStoreOptions } from '../../src/storage/s3-blob-store.js';
import { createTestBucket, type TestBucket } from '../helpers/s3.js';
import { describeWithService } from '../helpers/services.js';
import { describeBlobStoreContract } from './blob-store.contract.js';

const PART = 5 * 1024 * 1024; // S3's smallest part

describeWithService('S3_ENDPOINT', 'S3 blob store', (endpoint) => {
  const options = (bucket: string, more: Partial<S3BlobStoreOptions> = {}): S3BlobStoreOptions => ({
    bucket,
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    publicBaseUrl: 'https://media.example/',
    partSize: PART,
    ...more,
  });

  describeBlobStoreContract('s3', async () => {
    const bucket = await createTestBucket(endpoint);
    const blobs = new S3BlobStore(options(bucket.name));
    return {
      blobs,
      publicBase: 'https://media.example/',
      largeBytes: PART,
      close: async () => {
        blobs.close();
        await bucket.remove();
      },
    };
  });

  describe('S3 specifics', () => {
    let bucket: TestBucket;
    let blobs: S3BlobStore;
    let commands: string[];
    beforeAll(async () => {
      bucket = await createTestBucket(endpoint);
      blobs = new S3BlobStore(options(bucket.name));
      // Every command the store sends, by name: what went over the wire, not what the code meant to send.
      blobs.client.middlewareStack.add((next, context) => (args) => (commands.push(context.commandName as string), next(args)), { step: 'initialize' });
    });
    beforeEach(() => void (commands = []));
    afterAll(async () => {
      blobs?.close();
      await bucket?.remove();
    });

    it('asks with HEAD first and uploads the same bytes only once', async () => {
      const data = randomBytes(10_000);
      await blobs.put('images/aa/same.png', data);
      expect(commands).toEqual(['HeadObjectCommand', 'PutObjectCommand']);
      commands = [];
      await blobs.put('images/aa/same.png', data);
      expect(commands).toEqual(['HeadObjectCommand']);
      commands = [];
      await blobs.put('images/aa/same.png', randomBytes(10_000));
      expect(commands).toEqual(['HeadObjectCommand', 'PutObjectCommand']);
    });

    it('stores the content type the key names, so a bucket served directly answers with it', async () => {
      await blobs.put('images/bb/x.webp', randomBytes(100));
      const head = await bucket.client.send(new (await import('@aws-sdk/client-s3')).HeadObjectCommand({ Bucket: bucket.name, Key: 'images/bb/x.webp' }));
      expect(head.ContentType).toBe('image/webp');
    });

    it('sends a large file in parts', async () => {
      await blobs.put('exports/big.tar', Readable.from([randomBytes(PART), randomBytes(PART), randomBytes(1000)]));
      expect(commands).toContain('CreateMultipartUploadCommand');
      expect(commands.filter((c) => c === 'UploadPartCommand')).toHaveLength(3);
      expect(commands).toContain('CompleteMultipartUploadCommand');
    });

    it('aborts the multipart upload of a failed stream: no parts left behind', async () => {
      const failing = Readable.from(
        (async function* () {
          yield randomBytes(PART);
          yield randomBytes(PART);
          throw new Error('source broke');
        })(),
      );
      await expect(blobs.put('exports/broken.tar', failing)).rejects.toThrow('source broke');
      const open = await bucket.client.send(new ListMultipartUploadsCommand({ Bucket: bucket.name }));
      expect(open.Uploads ?? []).toEqual([]);
    });

    it('presigns a GET that downloads the file, for a bounded time', async () => {
      const data = randomBytes(2000);
      await blobs.put('images/cc/p.png', data);
      const signed = new S3BlobStore(options(bucket.name, { presignSeconds: 90 }));
      const url = new URL(await signed.presignedUrl('images/cc/p.png'));
      expect(url.searchParams.get('X-Amz-Expires')).toBe('90');
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(data);
      // Tampering with the expiry breaks the signature.
      url.searchParams.set('X-Amz-Expires', '604800');
      expect((await fetch(url)).status).toBe(403);
      const capped = new S3BlobStore(options(bucket.name, { presignSeconds: 30 * 24 * 3600 }));
      expect(new URL(await capped.presignedUrl('images/cc/p.png')).searchParams.get('X-Amz-Expires')).toBe('604800');
      signed.close();
      capped.close();
    });

    it('verify passes for a bucket that exists with good credentials', async () => {
      await expect(blobs.verify()).resolves.toBeUndefined();
    });

    it('verify names a bucket that does not exist', async () => {
      const store = new S3BlobStore(options('scrapeds-no-such-bucket'));
      await expect(store.verify()).rejects.toThrow(S3ConfigError);
      await expect(store.verify()).rejects.toThrow(/bucket "scrapeds-no-such-bucket" .* does not exist/);
      store.close();
    });

    it('verify says the credentials were refused', async () => {
      const store = new S3BlobStore(options(bucket.name, { credentials: { accessKeyId: 'nobody', secretAccessKey: 'wrong-secret' } }));
      await expect(store.verify()).rejects.toThrow(/S3 credentials refused .*AWS_ACCESS_KEY_ID/);
      store.close();
    });

    it('verify says an endpoint cannot be reached', async () => {
      // A port that was free a moment ago: nothing listens there.
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as net.AddressInfo;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const store = new S3BlobStore({ ...options(bucket.name), endpoint: `http://127.0.0.1:${port}` });
      await expect(store.verify()).rejects.toThrow(new RegExp(`cannot reach bucket .* at http://127.0.0.1:${port}.*S3_ENDPOINT`));
      store.close();
    });
  });
});
