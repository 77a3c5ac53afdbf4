import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import request from 'supertest';
import { serveDatasetSite, waitForBatch, type DatasetSite } from '../helpers/batches.js';
import { exportAndDownload as exportAndDownloadFrom, readBack as readShards, sha256, type ReadEntry } from '../helpers/exports.js';
import { withSiteAndService } from '../helpers/service.js';
import { describeWithService } from '../helpers/services.js';

const run = promisify(execFile);

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

  const exportAndDownload = (body: Record<string, unknown>) => exportAndDownloadFrom(ctx.svc.url, batchId, body);

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
    // tar reads the shard: deterministic members, fixed owner and time; each image has .png, .json and .txt (its caption, empty when none).
    const listing = await run('tar', ['-tvf', path.join(again.dir, 'images-png-00000.tar')]);
    const members = listing.stdout.split('\n').filter(Boolean);
    expect(members.map((m) => m.slice(m.lastIndexOf('.')))).toEqual(['.png', '.json', '.txt', '.png', '.json', '.txt']);
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
    const readBack = (format: string, files: string[]) => readShards(python, format, files);

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
