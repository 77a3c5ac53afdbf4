/**
 * WebDataset export by the built service, where shards are composed on a worker thread (the compiled
 * compose-worker.js; tests run from sources compose inline): shards a tar reads, every image member the
 * stored file, and a missing stored file fails the export cleanly, leaving no temp file behind.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { serveDatasetSite, waitForBatch, type DatasetSite } from '../helpers/batches.js';
import { exportAndDownload, sha256, waitForExport } from '../helpers/exports.js';
import { repoRoot, spawnService, withBuiltServiceAndSite } from '../helpers/processes.js';
import { tempDir } from '../helpers/service.js';

const run = promisify(execFile);

describe('exports by the service process', () => {
  const ctx = withBuiltServiceAndSite();
  let data: DatasetSite;
  let base: string;
  let dataDir: string;
  let batchId: string;

  beforeAll(async () => {
    expect(fs.existsSync(path.join(repoRoot, 'dist/storage/compose-worker.js'))).toBe(true);
    data = serveDatasetSite(ctx.site);
    dataDir = tempDir();
    const svc = spawnService({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', ALLOW_PRIVATE_NETWORKS: 'true', FETCH_RETRIES: '0' });
    base = (await svc.ready) as string;
    const res = await request(base).post('/batches').send({ urls: data.pages, kinds: ['images'] }).expect(202);
    batchId = res.body.id;
    await waitForBatch(base, batchId);
  });

  it('writes shards whose image members are the stored files, byte-identical when built again', async () => {
    const { exp, files } = await exportAndDownload(base, batchId, { format: 'webdataset', shard_samples: 1 });
    const out = tempDir();
    const images: string[] = [];
    for (const file of files) {
      await run('tar', ['-xf', file, '-C', out]);
      for (const name of (await run('tar', ['-tf', file])).stdout.split('\n').filter((n) => /\.(png|jpg|gif)$/.test(n))) {
        const bytes = fs.readFileSync(path.join(out, name));
        const meta = JSON.parse(fs.readFileSync(path.join(out, name.replace(/\.\w+$/, '.json')), 'utf8')) as { sha256: string; bytes: number };
        expect([sha256(bytes), bytes.length]).toEqual([meta.sha256, meta.bytes]);
        images.push(meta.sha256);
      }
    }
    expect(images.sort()).toEqual(['/img/a.png', '/img/b.jpg', '/img/c.gif', '/img/d.png'].map((p) => sha256(data.images[p] as Buffer)).sort());
    const again = await exportAndDownload(base, batchId, { format: 'webdataset', shard_samples: 1 });
    expect(again.exp.shards.map((s) => s.sha256)).toEqual(exp.shards.map((s) => s.sha256));
  });

  it('fails an export whose stored file is gone, naming it, listing no shard and leaving no temp file', async () => {
    const hash = sha256(data.images['/img/d.png'] as Buffer);
    const key = `images/${hash.slice(0, 2)}/${hash}.png`;
    fs.rmSync(path.join(dataDir, 'media', key));
    const res = await request(base).post(`/batches/${batchId}/exports`).send({ format: 'webdataset' }).expect(202);
    const exp = await waitForExport(base, res.body.id);
    expect(exp).toMatchObject({ status: 'failed', shards: [] });
    expect((exp.error as { message: string }).message).toBe(`stored file ${key} is missing`);
    // A shard another series finished meanwhile may stay on disk, unlisted (as one finished before a failure always did).
    const dir = path.join(dataDir, 'media', 'exports', res.body.id as string);
    expect((fs.existsSync(dir) ? fs.readdirSync(dir) : []).filter((f) => !/^(png|jpg|gif)-\d{5}\.tar$/.test(f))).toEqual([]);
  });
});
