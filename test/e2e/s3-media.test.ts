/**
 * BLOB_STORE=s3 end to end, against the S3-compatible server of scripts/services.sh (S3_ENDPOINT): image files
 * land in the bucket, and the three ways to link them work; a bad S3 setting stops the process at start.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { promisify } from 'node:util';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import request from 'supertest';
import { png } from '../fixtures/images.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/site.js';
import { repoRoot, standaloneEnv } from '../helpers/processes.js';
import { createTestBucket, type TestBucket } from '../helpers/s3.js';
import { startTestService, tempDir, type TestService } from '../helpers/service.js';
import { describeWithService } from '../helpers/services.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const run = promisify(execFile);

describeWithService('S3_ENDPOINT', 'files in S3 (BLOB_STORE=s3)', (endpoint) => {
  let site: FixtureSite;
  let bucket: TestBucket;
  const images = [png(5, 4, 1), png(6, 4, 2)];
  const s3env = () => ({ BLOB_STORE: 's3', S3_BUCKET: bucket.name, S3_ENDPOINT: endpoint, S3_FORCE_PATH_STYLE: 'true' });

  beforeAll(async () => {
    bucket = await createTestBucket(endpoint);
    site = await startFixtureSite();
    images.forEach((body, i) => site.serve(`/img/${i}.png`, body, 'image/png'));
    site.serve('/page', '<html><body><img src="/img/0.png"><img src="/img/1.png"><img src="/img/0.png?again"></body></html>', 'text/html');
  });
  afterAll(async () => {
    await site?.close();
    await bucket?.remove();
  });

  async function runImagesTask(svc: TestService) {
    const created = await request(svc.url).post('/images_tasks').send({ url: site.url('/page') }).expect(202);
    const loc = created.headers.location as string;
    for (let t = Date.now(); (await request(svc.url).get(loc)).body.status !== 'succeeded'; ) {
      if (Date.now() - t > 20_000) throw new Error('task not done');
      await new Promise((r) => setTimeout(r, 50));
    }
    return (await request(svc.url).get(`${loc}/images`).expect(200)).body.items as Array<{ url: string; source_url: string; sha256: string }>;
  }

  it('stores each image once in the bucket and streams it from the API at /media/', async () => {
    const svc = await startTestService(s3env());
    try {
      const items = await runImagesTask(svc);
      expect(items).toHaveLength(3);
      const objects = await bucket.client.send(new ListObjectsV2Command({ Bucket: bucket.name, Prefix: 'images/' }));
      expect((objects.Contents ?? []).map((o) => o.Key).sort()).toEqual([...new Set(items.map((i) => i.url.replace(/^\/media\//, '')))].sort());
      expect(objects.Contents).toHaveLength(2);
      for (const img of items) {
        expect(img.url).toMatch(/^\/media\/images\/[0-9a-f]{2}\/[0-9a-f]{64}\.png$/);
        const res = await request(svc.url).get(img.url).buffer(true).parse((r, cb) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c)).on('end', () => cb(null, Buffer.concat(chunks)));
        }).expect(200);
        expect(res.headers['content-type']).toBe('image/png');
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(sha256(res.body as Buffer)).toBe(img.sha256);
      }
      await request(svc.url).get('/media/images/00/missing.png').expect(404);
      await request(svc.url).get('/media/..%2f..%2fetc/passwd').expect(404);
    } finally {
      await svc.close();
    }
  });

  it('with S3_PRESIGN=true, /media/ redirects to a presigned GET of the bucket', async () => {
    const svc = await startTestService({ ...s3env(), S3_PRESIGN: 'true', S3_PRESIGN_SECONDS: '120' });
    try {
      const [img] = await runImagesTask(svc);
      const res = await request(svc.url).get(img!.url).expect(302);
      expect(res.headers['cache-control']).toBe('no-store');
      const target = new URL(res.headers.location as string);
      expect(target.origin).toBe(new URL(endpoint).origin);
      expect(target.searchParams.get('X-Amz-Expires')).toBe('120');
      const file = await fetch(target);
      expect(file.status).toBe(200);
      expect(sha256(Buffer.from(await file.arrayBuffer()))).toBe(img!.sha256);
    } finally {
      await svc.close();
    }
  });

  it('with PUBLIC_MEDIA_URL (a public bucket or CDN), links point there', async () => {
    const svc = await startTestService({ ...s3env(), PUBLIC_MEDIA_URL: `${endpoint}/${bucket.name}/` });
    try {
      const items = await runImagesTask(svc);
      for (const img of items) {
        expect(img.url.startsWith(`${endpoint}/${bucket.name}/images/`)).toBe(true);
      }
    } finally {
      await svc.close();
    }
  });

  describe('bad configuration stops the process at start, saying what to fix', () => {
    const start = async (env: Record<string, string>) => {
      const err = await run(process.execPath, ['dist/main.js'], { cwd: repoRoot, env: { ...standaloneEnv(), DATA_DIR: tempDir(), PORT: '0', HOST: '127.0.0.1', ...env }, timeout: 60_000 }).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(err?.code).toBe(1);
      return err!.stderr;
    };
    it('an unknown BLOB_STORE', async () => {
      expect(await start({ BLOB_STORE: 'ftp' })).toMatch(/BLOB_STORE: .*"volume".*"s3"/);
    });
    it('BLOB_STORE=s3 without a bucket', async () => {
      expect(await start({ BLOB_STORE: 's3' })).toContain('BLOB_STORE=s3 needs S3_BUCKET');
    });
    it('a bucket that does not exist', async () => {
      expect(await start({ ...s3env(), S3_BUCKET: 'scrapeds-no-such-bucket' })).toMatch(/S3_BUCKET: bucket "scrapeds-no-such-bucket" .*does not exist/);
    });
    it('wrong credentials', async () => {
      expect(await start({ ...s3env(), AWS_ACCESS_KEY_ID: 'nobody', AWS_SECRET_ACCESS_KEY: 'wrong' })).toMatch(/S3 credentials refused/);
    });
    it('an unreachable endpoint', async () => {
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as net.AddressInfo;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      expect(await start({ ...s3env(), S3_ENDPOINT: `http://127.0.0.1:${port}` })).toMatch(/cannot reach bucket .*S3_ENDPOINT/);
    });
  });
});
