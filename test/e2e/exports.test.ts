import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import request from 'supertest';
import { serveDatasetSite, waitForBatch, type DatasetSite } from '../helpers/batches.js';
import { tempDir, withSiteAndService } from '../helpers/service.js';
import { describeWithService } from '../helpers/services.js';

const run = promisify(execFile);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface ApiShard { index: number; name: string; url: string; records: number; bytes: number; sha256: string }
interface ApiExport { id: string; status: string; format: string; shards: ApiShard[]; manifest: Record<string, unknown> & { shards: Array<Record<string, number | string>> }; error: unknown }
interface ReadEntry { key: string; ext?: string; sha256?: string; txt?: string; meta: Record<string, unknown> }

async function waitForExport(base: string, id: string, timeoutMs = 20_000): Promise<ApiExport> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(base).get(`/exports/${id}`).expect(200);
    if (res.body.status !== 'running') return res.body as ApiExport;
    if (Date.now() > deadline) throw new Error(`export ${id} still running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const binary = (res: request.Response, cb: (err: Error | null, body: unknown) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
};

describe('dataset exports of a batch', () => {
  let data: DatasetSite;
  const ctx = withSiteAndService({ FETCH_RETRIES: '0' }, (site) => {
    data = serveDatasetSite(site);
  });
  let batchId: string;
  const storedImages = () => new Set(['/img/a.png', '/img/b.jpg', '/img/c.gif', '/img/d.png'].map((p) => sha256(data.images[p] as Buffer)));

  beforeAll(async () => {
    const res = await request(ctx.svc.url).post('/batches').send({ urls: [...data.pages, ctx.site.url('/broken')], kinds: ['images', 'text'] }).expect(202);
    batchId = res.body.id;
    await waitForBatch(ctx.svc.url, batchId);
  });

  /** Starts an export, waits for it, downloads its shards (checking each sha256) into a fresh directory. */
  async function exportAndDownload(body: Record<string, unknown>): Promise<{ exp: ApiExport; dir: string; files: string[] }> {
    const res = await request(ctx.svc.url).post(`/batches/${batchId}/exports`).send(body).expect(202);
    expect(res.headers.location).toBe(`/exports/${res.body.id}`);
    const exp = await waitForExport(ctx.svc.url, res.body.id);
    expect(exp).toMatchObject({ status: 'succeeded', error: null });
    const dir = tempDir();
    const files: string[] = [];
    for (const shard of exp.shards) {
      const file = await request(ctx.svc.url).get(shard.url).buffer(true).parse(binary).expect(200);
      const bytes = file.body as Buffer;
      expect(bytes.length).toBe(shard.bytes);
      expect(sha256(bytes)).toBe(shard.sha256);
      const target = path.join(dir, shard.name);
      fs.writeFileSync(target, bytes);
      files.push(target);
    }
    return { exp, dir, files };
  }

  it('builds WebDataset shards of the configured size, listed with a manifest, byte-identical when built again', async () => {
    const { exp } = await exportAndDownload({ format: 'webdataset', shard_samples: 2 });
    // One series per image type (WebDataset names a member by its type), shards of at most 2 samples.
    expect(exp.shards.map((s) => [s.name, s.records])).toEqual([
      ['images-gif-00000.tar', 1], ['images-jpg-00000.tar', 1], ['images-png-00000.tar', 2], ['text-00000.tar', 2], ['text-00001.tar', 1],
    ]);
    expect(exp.manifest).toMatchObject({ format: 'webdataset', shard_count: 5, records: 7 });
    expect(exp.manifest.shards[2]).toMatchObject({ name: 'images-png-00000.tar', samples: 2, images: 2, texts: 0 });
    expect(exp.manifest.shards[3]).toMatchObject({ name: 'text-00000.tar', samples: 2, images: 0, texts: 2 });

    const again = await exportAndDownload({ format: 'webdataset', shard_samples: 2 });
    expect(again.exp.id).not.toBe(exp.id);
    expect(again.exp.shards.map((s) => s.sha256)).toEqual(exp.shards.map((s) => s.sha256));
    // tar reads the shard: deterministic members, fixed owner and time.
    const listing = await run('tar', ['-tvf', path.join(again.dir, 'images-png-00000.tar')]);
    expect(listing.stdout.split('\n').filter(Boolean)).toHaveLength(4);
    expect(listing.stdout).toContain('0/0');
  });

  it('exports one kind on request, and each format', async () => {
    const { exp } = await exportAndDownload({ format: 'jsonl', kinds: ['text'] });
    expect(exp.shards.map((s) => s.name)).toEqual(['00000.jsonl.gz']);
    const parquet = await exportAndDownload({ format: 'parquet', include_images: true, shard_samples: 2 });
    expect(parquet.exp.shards.map((s) => s.name)).toEqual(['images-00000.parquet', 'images-00001.parquet', 'text-00000.parquet', 'text-00001.parquet']);
  });

  it('refuses bad exports with a 4xx naming the field, and records no export for them', async () => {
    const api = request(ctx.svc.url);
    const exportRows = () => {
      const db = new Database(path.join(ctx.svc.dataDir, 'tasks.sqlite'), { readonly: true });
      try {
        return (db.prepare('SELECT COUNT(*) AS n FROM exports').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const before = exportRows();
    const bad = await api.post(`/batches/${batchId}/exports`).send({ format: 'zip' }).expect(400);
    expect(bad.body.errors[0].field).toBe('format');
    expect((await api.post(`/batches/${batchId}/exports`).send({}).expect(400)).body.errors[0]).toEqual({ field: 'format', message: 'is required' });
    expect((await api.post(`/batches/${batchId}/exports`).send({ format: 'jsonl', shard_samples: 0 }).expect(400)).body.errors[0].field).toBe('shard_samples');
    expect((await api.post(`/batches/${batchId}/exports`).send({ format: 'jsonl', extra: 1 }).expect(400)).body.errors[0].field).toBe('extra');
    await api.post('/batches/nope/exports').send({ format: 'jsonl' }).expect(404);
    await api.get('/exports/nope').expect(404);
    expect(exportRows()).toBe(before);

    ctx.site.route('/slow', (_req, res) => void setTimeout(() => res.writeHead(200, { 'content-type': 'text/html' }).end('<title>slow</title>'), 1500));
    const running = await api.post('/batches').send({ urls: [ctx.site.url('/slow')] }).expect(202);
    const conflict = await api.post(`/batches/${running.body.id}/exports`).send({ format: 'jsonl' }).expect(409);
    expect(conflict.body.detail).toContain('still has queued or running tasks');
    await waitForBatch(ctx.svc.url, running.body.id);
  });

  describeWithService('SCRAPEDS_PYTHON', 'read back by the Python readers training code uses', (python) => {
    async function readBack(format: string, files: string[]): Promise<Record<string, ReadEntry[]>> {
      const script = path.resolve('test/python/read_shards.py');
      const { stdout } = await run(python, [script, format, ...files], { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, HF_HUB_OFFLINE: '1', HF_DATASETS_OFFLINE: '1' } });
      return JSON.parse(stdout) as Record<string, ReadEntry[]>;
    }

    const imageSamples = (entries: ReadEntry[]) => entries.filter((e) => e.meta.source_url !== undefined);

    it('webdataset and datasets("webdataset") read every sample; every image sha256 matches', async () => {
      const { files } = await exportAndDownload({ format: 'webdataset', shard_samples: 3 });
      const read = await readBack('webdataset', files);
      for (const reader of ['webdataset', 'hf_webdataset']) {
        const entries = read[reader] as ReadEntry[];
        expect(entries).toHaveLength(7);
        const images = imageSamples(entries);
        expect(new Set(images.map((e) => e.sha256))).toEqual(storedImages());
        for (const e of images) {
          expect(e.sha256).toBe(e.meta.sha256);
          expect(e.key).toBe((e.meta.sha256 as string).slice(0, 32));
          expect(e.meta).toMatchObject({ page_url: expect.stringMatching(/\/(one|two|three)$/), mime: expect.stringMatching(/^image\//), width: expect.any(Number), height: expect.any(Number), bytes: expect.any(Number) });
        }
        const texts = entries.filter((e) => e.meta.url !== undefined);
        expect(texts.map((e) => e.meta.title)).toEqual(['One', 'Two', 'Three']);
        expect(texts[1]?.txt).toContain('äöü');
      }
    }, 120_000);

    it('pyarrow and datasets("parquet") read every row; image bytes match their sha256', async () => {
      const { files } = await exportAndDownload({ format: 'parquet', include_images: true, shard_samples: 2 });
      const read = await readBack('parquet', files);
      for (const reader of ['pyarrow', 'hf_parquet']) {
        const entries = read[reader] as ReadEntry[];
        expect(entries).toHaveLength(7);
        const images = imageSamples(entries);
        expect(new Set(images.map((e) => e.sha256))).toEqual(storedImages());
        for (const e of images) expect(e.sha256).toBe(e.meta.sha256);
        expect(entries.filter((e) => e.txt !== undefined).map((e) => e.meta.title)).toEqual(['One', 'Two', 'Three']);
      }
    }, 120_000);

    it('gzip and datasets("json") read the JSONL shards', async () => {
      const { files } = await exportAndDownload({ format: 'jsonl' });
      const read = await readBack('jsonl', files);
      expect(read.gzip_jsonl).toHaveLength(7);
      expect(read.hf_json).toHaveLength(7);
      const images = imageSamples(read.gzip_jsonl as ReadEntry[]);
      expect(new Set(images.map((e) => e.meta.sha256))).toEqual(storedImages());
      for (const e of images) expect(e.meta.url).toMatch(/^\/media\/images\//);
    }, 120_000);
  });
});
