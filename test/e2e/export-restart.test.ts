/**
 * An export left `running` by a standalone service that stopped is failed when the service starts again; one
 * whose builder died elsewhere (a cluster's API replica) is failed once its heartbeat is stale.
 */
import path from 'node:path';
import request from 'supertest';
import { openSqliteTaskStore } from '../../src/models/sqlite/sqlite-task-store.js';
import { startTestService, tempDir } from '../helpers/service.js';

describe('exports across a restart', () => {
  it('marks an export the previous process left running failed, and leaves finished ones alone', async () => {
    const dataDir = tempDir();
    const store = openSqliteTaskStore(path.join(dataDir, 'tasks.sqlite'));
    const { batch } = await store.batches.createBatch({ kinds: ['text'], refresh: false, urls: ['https://example.test/a'] });
    const options = { format: 'jsonl' as const, shardSamples: 10, shardBytes: 1 << 20, includeImages: false };
    const interrupted = await store.batches.createExport(batch.id, options);
    const finished = await store.batches.finishExport((await store.batches.createExport(batch.id, options)).id, { status: 'succeeded', shards: [], stats: { nearDuplicatesDropped: { images: 0, text: 0 }, imagesResized: 0, imagesWithoutResized: 0 } });
    await store.close();

    const svc = await startTestService({}, dataDir);
    try {
      const res = await request(svc.url).get(`/exports/${interrupted.id}`).expect(200);
      expect(res.body).toMatchObject({ status: 'failed', shards: [], error: { code: 'interrupted', message: 'the service stopped while building this export: start another' } });
      expect(res.body.finished_at).toEqual(expect.any(String));
      expect((await request(svc.url).get(`/exports/${finished!.id}`).expect(200)).body).toMatchObject({ status: 'succeeded' });
    } finally {
      await svc.close();
    }
  });

  it('fails an export whose builder stopped renewing its heartbeat (another process that died), once it is stale', async () => {
    const dataDir = tempDir();
    const svc = await startTestService({ EXPORT_STALE_MS: '1500' }, dataDir);
    // Another process on the same store starts an export and dies without a heartbeat more.
    const other = openSqliteTaskStore(path.join(dataDir, 'tasks.sqlite'));
    try {
      const { batch } = await other.batches.createBatch({ kinds: ['text'], refresh: false, urls: ['https://example.test/a'] });
      const orphan = await other.batches.createExport(batch.id, { format: 'jsonl', shardSamples: 10, shardBytes: 1 << 20, includeImages: false });
      expect((await request(svc.url).get(`/exports/${orphan.id}`).expect(200)).body).toMatchObject({ status: 'running' });
      let body: Record<string, unknown> = {};
      for (let i = 0; i < 200 && body.status !== 'failed'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        body = (await request(svc.url).get(`/exports/${orphan.id}`).expect(200)).body as Record<string, unknown>;
      }
      expect(body).toMatchObject({ status: 'failed', shards: [], error: { code: 'interrupted' } });
      expect(Date.parse(body.finished_at as string) - Date.parse(orphan.createdAt)).toBeGreaterThan(1500);
      expect(await other.batches.getExport(orphan.id)).toMatchObject({ status: 'failed' });
    } finally {
      await other.close();
      await svc.close();
    }
  });
});
