/**
 * The exporter on a real SQLite store and volume: an image sample carries its resized copy's sha256 even
 * when the copy was listed without one (copies made before it was recorded), and near-duplicates are
 * decided on the original's hash.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import zlib from 'node:zlib';
import { pino } from 'pino';
import { buildShards, runExport } from '../../../src/datasets/exporter.js';
import { openSqliteTaskStore, type SqliteTaskStore } from '../../../src/models/sqlite/sqlite-task-store.js';
import type { Composer } from '../../../src/storage/blob-store.js';
import { VolumeBlobStore } from '../../../src/storage/volume-blob-store.js';
import { tempDir } from '../../helpers/temp.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('buildShards', () => {
  let store: SqliteTaskStore;
  let blobs: VolumeBlobStore;
  beforeEach(() => {
    const dir = tempDir();
    store = openSqliteTaskStore(path.join(dir, 'tasks.sqlite'));
    blobs = new VolumeBlobStore(path.join(dir, 'media'), '/media');
  });
  afterEach(() => store.close());

  /** A finished batch of one images task whose page had these images (bytes, dHash, resized copy bytes). */
  async function batchOf(images: Array<{ body: Buffer; phash: string; copy?: Buffer; copySha?: boolean }>): Promise<string> {
    const { batch, jobs } = await store.batches.createBatch({ kinds: ['images'], refresh: false, urls: ['https://example.test/page'] });
    const taskId = jobs[0]!.taskId;
    await store.startTask(taskId);
    for (const [position, img] of images.entries()) {
      const url = `https://example.test/${position}.png`;
      const { image } = await store.claimImage(url, { taskId, staleAfterMs: 60_000 });
      const hash = sha256(img.body);
      const file = { sha256: hash, key: `images/${hash.slice(0, 2)}/${hash}.png`, mime: 'image/png', bytes: img.body.length, width: 10, height: 10, phash: img.phash };
      await blobs.put(file.key, img.body);
      await store.completeImage(image.id, taskId, { status: 'stored', file });
      let resized;
      if (img.copy) {
        const key = `images/${hash.slice(0, 2)}/${hash}.64.webp`;
        await blobs.put(key, img.copy);
        resized = { key, mime: 'image/webp', bytes: img.copy.length, width: 8, height: 8, ...(img.copySha ? { sha256: sha256(img.copy) } : {}) };
      }
      await store.linkImage({ taskId, position, sourceUrl: url, imageId: image.id, outcome: 'stored', ...(resized ? { details: { resized } } : {}) });
    }
    await store.finishTask(taskId, { status: 'succeeded' });
    return batch.id;
  }

  async function jsonl(batchId: string, options: Record<string, unknown>) {
    const exp = await store.batches.createExport(batchId, { format: 'jsonl', shardSamples: 100, shardBytes: 1 << 20, includeImages: false, ...options });
    const { shards, stats } = await buildShards({ store, blobs, log: pino({ level: 'silent' }) }, exp, ['images']);
    const lines: Array<Record<string, unknown>> = [];
    for (const s of shards) {
      const stream = await blobs.get(s.key);
      const chunks: Buffer[] = [];
      for await (const c of stream!) chunks.push(c as Buffer);
      lines.push(...zlib.gunzipSync(Buffer.concat(chunks)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));
    }
    return { lines, stats };
  }

  it('hashes a resized copy listed without its sha256, and counts images with and without a copy', async () => {
    const copy = Buffer.from('webp copy bytes');
    const batchId = await batchOf([
      { body: Buffer.from('first original'), phash: '0000000000000000', copy },
      { body: Buffer.from('second original'), phash: 'ffffffffffffffff', copy: Buffer.from('another copy'), copySha: true },
      { body: Buffer.from('third original'), phash: '00000000ffffffff' },
    ]);
    const { lines, stats } = await jsonl(batchId, { images: 'resized' });
    expect(lines.map((l) => [l.variant, l.sha256])).toEqual([
      ['resized', sha256(copy)], ['resized', sha256(Buffer.from('another copy'))], ['original', sha256(Buffer.from('third original'))],
    ]);
    expect(lines[0]).toMatchObject({ mime: 'image/webp', width: 8, bytes: copy.length, original_sha256: sha256(Buffer.from('first original')) });
    expect(stats).toEqual({ nearDuplicatesDropped: { images: 0, text: 0 }, imagesResized: 2, imagesWithoutResized: 1 });
  });

  it('drops images whose original dHash is within the distance of an earlier one, first kept', async () => {
    const batchId = await batchOf([
      { body: Buffer.from('a'), phash: '0000000000000000' },
      { body: Buffer.from('b'), phash: '0000000000000007' }, // 3 bits from a
      { body: Buffer.from('c'), phash: 'ffff000000000000' },
      { body: Buffer.from('d'), phash: 'not a hash' }, // never compared
    ]);
    const near = await jsonl(batchId, { nearDuplicates: { images: 3 } });
    expect(near.lines.map((l) => l.phash)).toEqual(['0000000000000000', 'ffff000000000000', 'not a hash']);
    expect(near.stats.nearDuplicatesDropped).toEqual({ images: 1, text: 0 });
    const tighter = await jsonl(batchId, { nearDuplicates: { images: 2 } });
    expect(tighter.lines).toHaveLength(4);
  });

  it('renews the export heartbeat while it builds, and records the result as its own', async () => {
    const batchId = await batchOf([{ body: Buffer.from('a'.repeat(40)), phash: '0'.repeat(16) }]);
    const exp = await store.batches.createExport(batchId, { format: 'jsonl', shardSamples: 100, shardBytes: 1 << 20, includeImages: false });
    // A volume whose shard writes finish only once the export's heartbeat has been renewed: a build that outlasts one renewal.
    const renewed = async () => {
      for (let i = 0; i < 1000; i++) {
        if ((await store.batches.getExport(exp.id))?.heartbeatAt !== exp.heartbeatAt) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('the heartbeat was never renewed');
    };
    const slow = Object.assign(Object.create(blobs) as VolumeBlobStore, {
      compose(key: string): Composer {
        const inner = blobs.compose(key);
        return { add: (parts) => inner.add(parts), abort: (err) => inner.abort(err), end: async () => (await renewed(), inner.end()) };
      },
    });
    await runExport({ store, blobs: slow, log: pino({ level: 'silent' }), exportStaleMs: 40 }, exp, ['images']);
    const done = await store.batches.getExport(exp.id);
    expect(done).toMatchObject({ status: 'succeeded', stats: expect.any(Object) });
    expect(done!.shards).toHaveLength(1);
    expect(Date.parse(done!.heartbeatAt!)).toBeGreaterThan(Date.parse(exp.heartbeatAt!));
  });
});
