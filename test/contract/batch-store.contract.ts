/**
 * The BatchStore contract (store.batches), run against every TaskStore adapter. Uses the port only.
 * `open` gives an empty store for each test; `cleanup` disposes of it.
 */
import { InvalidCursorError, type TaskStore } from '../../src/models/task-store.js';
import type { ExportOptions } from '../../src/models/batch.js';
import type { Task } from '../../src/models/task.js';
import { eachStore } from './store-lifecycle.js';

const urls = (n: number, label = 'p') => Array.from({ length: n }, (_, i) => `https://example.test/${label}/${i}`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function allTasks(store: TaskStore, batchId: string, query: { status?: Task['status'] | 'finished'; limit: number }): Promise<Task[]> {
  const out: Task[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.batches.listBatchTasks(batchId, { ...query, cursor });
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

export function describeBatchStoreContract(name: string, open: () => Promise<TaskStore>, cleanup?: (store: TaskStore) => Promise<void>): void {
  describe(`BatchStore contract: ${name}`, () => {
    let store: TaskStore;
    eachStore(open, cleanup, (s) => (store = s));

    it('creates a batch with one queued task per URL and kind, in submission order', async () => {
      const { batch, jobs } = await store.batches.createBatch({ kinds: ['text', 'images'], refresh: true, urls: urls(3) });
      expect(batch).toMatchObject({ kinds: ['text', 'images'], refresh: true, urlCount: 3, taskCount: 6 });
      expect(batch.progress.counts).toEqual({ queued: 6, running: 0, succeeded: 0, failed: 0 });
      expect(jobs.map((j) => j.kind)).toEqual(['text', 'images', 'text', 'images', 'text', 'images']);

      const tasks = await allTasks(store, batch.id, { limit: 4 });
      expect(tasks.map((t) => t.id)).toEqual(jobs.map((j) => j.taskId));
      expect(tasks.map((t) => [t.url, t.kind, t.batchSeq])).toEqual([
        [urls(3)[0], 'text', 0], [urls(3)[0], 'images', 1], [urls(3)[1], 'text', 2],
        [urls(3)[1], 'images', 3], [urls(3)[2], 'text', 4], [urls(3)[2], 'images', 5],
      ]);
      for (const t of tasks) expect(t).toMatchObject({ status: 'queued', refresh: true, attempts: 0, batchId: batch.id });
      // They are ordinary tasks to the rest of the store.
      const one = await store.getTask(jobs[1]?.taskId as string);
      expect(one).toMatchObject({ kind: 'images', batchId: batch.id, batchSeq: 1, counts: { found: 0 } });
      expect((await store.listUnfinished()).length).toBe(6);
      expect(await store.batches.getBatch(batch.id)).toEqual(batch);
    });

    it('gives text tasks the batch\'s format and images tasks its options; a batch without them, none', async () => {
      const options = { filters: { minWidth: 64, minHeight: 32, maxAspectRatio: 3, mimeTypes: ['image/png', 'image/webp'] }, resize: { maxSide: 256, format: 'webp' as const } };
      const { batch } = await store.batches.createBatch({ kinds: ['text', 'images'], refresh: false, urls: urls(2), format: 'markdown', options });
      const tasks = await allTasks(store, batch.id, { limit: 100 });
      for (const t of tasks.filter((x) => x.kind === 'text')) expect(t.format).toBe('markdown');
      for (const t of tasks.filter((x) => x.kind === 'images')) expect(t.options).toEqual(options);
      expect(tasks.filter((x) => x.kind === 'text').every((t) => t.options === undefined)).toBe(true);
      expect(tasks.filter((x) => x.kind === 'images').every((t) => t.format === undefined)).toBe(true);
      expect((await store.getTask(tasks[1]?.id as string))?.options).toEqual(options);

      const plain = await store.batches.createBatch({ kinds: ['text', 'images'], refresh: false, urls: urls(1, 'plain') });
      for (const t of await allTasks(store, plain.batch.id, { limit: 100 })) {
        expect(t.format).toBeUndefined();
        expect(t.options).toBeUndefined();
      }
    });

    it('takes a large batch at once', async () => {
      const { batch, jobs } = await store.batches.createBatch({ kinds: ['text'], refresh: false, urls: urls(2_500) });
      expect(jobs).toHaveLength(2_500);
      expect(new Set(jobs.map((j) => j.taskId)).size).toBe(2_500);
      const got = await store.batches.getBatch(batch.id);
      expect(got?.progress.counts.queued).toBe(2_500);
      const page = await store.batches.listBatchTasks(batch.id, { limit: 1000, cursor: undefined });
      expect(page.items[999]?.batchSeq).toBe(999);
      expect(page.nextCursor).toBeDefined();
    });

    it('counts progress by status, with the first start and the last finish', async () => {
      const { batch, jobs } = await store.batches.createBatch({ kinds: ['text'], refresh: false, urls: urls(4) });
      const [a, b, c] = jobs.map((j) => j.taskId) as [string, string, string];
      const started = await store.startTask(a);
      await store.startTask(b);
      await store.finishTask(b, { status: 'failed', error: { code: 'http_error', message: '500' } });
      await sleep(3);
      const finished = await store.finishTask(c, { status: 'succeeded' });
      const got = await store.batches.getBatch(batch.id);
      expect(got?.progress.counts).toEqual({ queued: 1, running: 1, succeeded: 1, failed: 1 });
      expect(got?.progress.startedAt).toBe(started?.startedAt);
      expect(got?.progress.lastFinishedAt).toBe(finished?.finishedAt);

      expect((await allTasks(store, batch.id, { status: 'finished', limit: 1 })).map((t) => t.id)).toEqual([b, c]);
      expect((await allTasks(store, batch.id, { status: 'queued', limit: 10 })).map((t) => t.batchSeq)).toEqual([3]);
      expect((await allTasks(store, batch.id, { status: 'running', limit: 10 })).map((t) => t.id)).toEqual([a]);
    });

    it('answers null or an empty page for an unknown batch, and refuses bad cursors and limits', async () => {
      expect(await store.batches.getBatch('nope')).toBeNull();
      expect(await store.batches.cancelBatch('nope')).toBeNull();
      expect(await store.batches.retryBatch('nope')).toBeNull();
      expect((await store.batches.listBatchTasks('nope', { limit: 10 })).items).toEqual([]);
      await expect(store.batches.listBatchTasks('nope', { limit: 10, cursor: 'garbage!' })).rejects.toBeInstanceOf(InvalidCursorError);
      await expect(store.batches.listBatches({ limit: 0 })).rejects.toBeInstanceOf(RangeError);
      await expect(store.batches.listBatchTasks('nope', { limit: 1001 })).rejects.toBeInstanceOf(RangeError);
    });

    it('lists batches newest first, paged', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push((await store.batches.createBatch({ kinds: ['text'], refresh: false, urls: urls(1, `b${i}`) })).batch.id);
        await sleep(2);
      }
      const first = await store.batches.listBatches({ limit: 2 });
      expect(first.items.map((b) => b.id)).toEqual([ids[2], ids[1]]);
      expect(first.items[0]?.progress.counts.queued).toBe(1);
      const second = await store.batches.listBatches({ limit: 2, cursor: first.nextCursor });
      expect(second.items.map((b) => b.id)).toEqual([ids[0]]);
      expect(second.nextCursor).toBeUndefined();
    });

    it('keeps the owner of a batch on it and its tasks, and lists one owner\'s batches, paged', async () => {
      const made: Array<{ id: string; owner?: string }> = [];
      for (const owner of ['alice', 'bob', 'alice', undefined, 'alice']) {
        const { batch, jobs } = await store.batches.createBatch({ kinds: ['text'], refresh: false, urls: urls(1, `o${made.length}`), ...(owner ? { owner } : {}) });
        expect(batch.owner).toBe(owner);
        expect((await store.getTask(jobs[0]?.taskId as string))?.owner).toBe(owner);
        made.push({ id: batch.id, owner });
        await sleep(2);
      }
      expect((await store.batches.getBatch(made[1]?.id as string))?.owner).toBe('bob');
      expect((await store.batches.getBatch(made[3]?.id as string))?.owner).toBeUndefined();
      const alice = made.filter((b) => b.owner === 'alice').map((b) => b.id).reverse();
      const first = await store.batches.listBatches({ limit: 2, owner: 'alice' });
      expect(first.items.map((b) => b.id)).toEqual(alice.slice(0, 2));
      const second = await store.batches.listBatches({ limit: 2, owner: 'alice', cursor: first.nextCursor });
      expect(second.items.map((b) => b.id)).toEqual(alice.slice(2));
      expect(second.nextCursor).toBeUndefined();
      expect((await store.batches.listBatches({ limit: 10, owner: 'carol' })).items).toEqual([]);
      expect((await store.batches.listBatches({ limit: 10 })).items).toHaveLength(5);
    });

    it('cancels what has not started; running tasks finish', async () => {
      const { batch, jobs } = await store.batches.createBatch({ kinds: ['text'], refresh: false, urls: urls(3) });
      const [a, b] = jobs.map((j) => j.taskId) as [string, string];
      await store.startTask(a);
      const res = await store.batches.cancelBatch(batch.id);
      expect(res?.cancelled).toBe(2);
      expect(res?.batch.cancelledAt).toBeDefined();
      expect(res?.batch.progress.counts).toEqual({ queued: 0, running: 1, succeeded: 0, failed: 2 });
      expect(await store.getTask(b)).toMatchObject({ status: 'failed', error: { code: 'cancelled' } });
      // A cancelled task cannot be started any more, and the running one still finishes.
      expect(await store.startTask(b)).toBeNull();
      expect(await store.finishTask(a, { status: 'succeeded' })).toMatchObject({ status: 'succeeded' });
      const again = await store.batches.cancelBatch(batch.id);
      expect(again?.cancelled).toBe(0);
      expect(again?.batch.cancelledAt).toBe(res?.batch.cancelledAt);
      // Retry leaves cancelled tasks alone.
      expect(await store.batches.retryBatch(batch.id)).toEqual([]);
    });

    it('retries failed tasks only, in order', async () => {
      const { batch, jobs } = await store.batches.createBatch({ kinds: ['text', 'images'], refresh: false, urls: urls(2) });
      const ids = jobs.map((j) => j.taskId) as [string, string, string, string];
      for (const id of ids) await store.startTask(id);
      await store.finishTask(ids[0], { status: 'succeeded' });
      await store.finishTask(ids[1], { status: 'failed', error: { code: 'timeout', message: 't' } });
      await store.finishTask(ids[3], { status: 'failed', error: { code: 'http_error', message: '503' } });
      const retried = await store.batches.retryBatch(batch.id);
      expect(retried).toEqual([{ taskId: ids[1], kind: 'images' }, { taskId: ids[3], kind: 'images' }]);
      const t = await store.getTask(ids[1]);
      expect(t).toMatchObject({ status: 'queued', attempts: 1 });
      expect(t?.error).toBeUndefined();
      expect(t?.finishedAt).toBeUndefined();
      expect((await store.batches.getBatch(batch.id))?.progress.counts).toEqual({ queued: 2, running: 1, succeeded: 1, failed: 0 });
      expect(await store.startTask(ids[1])).toMatchObject({ status: 'running', attempts: 2 });
    });

    it('gives each kind of task the batch\'s options for it', async () => {
      const options = { filters: { minWidth: 10, mimeTypes: ['image/png'] }, resize: { maxSide: 64, format: 'webp' as const } };
      const { jobs } = await store.batches.createBatch({ kinds: ['text', 'images'], refresh: false, urls: urls(2), format: 'main', options });
      const tasks = await Promise.all(jobs.map((j) => store.getTask(j.taskId)));
      for (const t of tasks) {
        if (t?.kind === 'text') expect(t).toMatchObject({ format: 'main' });
        else expect(t).toMatchObject({ kind: 'images', options });
        expect(t?.kind === 'text' ? t.options : t?.format).toBeUndefined();
      }
      const { jobs: plain } = await store.batches.createBatch({ kinds: ['images'], refresh: false, urls: urls(1) });
      expect((await store.getTask(plain[0]!.taskId))?.options).toBeUndefined();
    });

    it('fails every export still running, leaving finished ones as they are', async () => {
      const { batch } = await store.batches.createBatch({ kinds: ['images'], refresh: false, urls: urls(1) });
      const options: ExportOptions = { format: 'jsonl', shardSamples: 10, shardBytes: 1000, includeImages: false };
      const running = await store.batches.createExport(batch.id, options);
      const done = await store.batches.finishExport((await store.batches.createExport(batch.id, options)).id, { status: 'failed', error: { code: 'export_failed', message: 'earlier' } });
      const error = { code: 'interrupted', message: 'the process building it stopped' };
      expect(await store.batches.failRunningExports(error)).toBeGreaterThanOrEqual(1);
      expect(await store.batches.getExport(running.id)).toMatchObject({ status: 'failed', error, shards: [] });
      expect((await store.batches.getExport(running.id))?.finishedAt).toBeDefined();
      expect(await store.batches.getExport(done!.id)).toEqual(done);
      expect(await store.batches.failRunningExports(error)).toBe(0);
    });

    it("keeps a running export's heartbeat, renewed by its builder until it is final", async () => {
      const { batch } = await store.batches.createBatch({ kinds: ['images'], refresh: false, urls: urls(1) });
      const options: ExportOptions = { format: 'jsonl', shardSamples: 10, shardBytes: 1000, includeImages: false };
      const created = await store.batches.createExport(batch.id, options);
      expect(created.heartbeatAt).toBe(created.createdAt);
      await new Promise((r) => setTimeout(r, 5));
      expect(await store.batches.touchExport(created.id)).toBe(true);
      const touched = await store.batches.getExport(created.id);
      expect(Date.parse(touched!.heartbeatAt!)).toBeGreaterThan(Date.parse(created.heartbeatAt!));
      expect(touched).toMatchObject({ status: 'running' });
      await store.batches.finishExport(created.id, { status: 'failed', error: { code: 'interrupted', message: 'm' } });
      expect(await store.batches.touchExport(created.id)).toBe(false);
      expect(await store.batches.getExport(created.id)).toMatchObject({ status: 'failed', heartbeatAt: touched!.heartbeatAt });
      expect(await store.batches.touchExport('nope')).toBe(false);
    });

    it('records an export and finishes it once, with its options and stats', async () => {
      const { batch } = await store.batches.createBatch({ kinds: ['images'], refresh: false, urls: urls(1) });
      const options: ExportOptions = { format: 'webdataset', shardSamples: 10, shardBytes: 1000, includeImages: false, images: 'resized', nearDuplicates: { images: 6, text: 0 } };
      const created = await store.batches.createExport(batch.id, options);
      expect(created).toMatchObject({ batchId: batch.id, options, status: 'running', shards: [] });
      expect(await store.batches.getExport(created.id)).toEqual(created);
      const shard = { index: 0, key: `exports/${created.id}/00000.tar`, records: 2, bytes: 3072, sha256: 'a'.repeat(64), stats: { samples: 2, images: 2, texts: 0, imageBytes: 100, textBytes: 0 } };
      const stats = { nearDuplicatesDropped: { images: 3, text: 0 }, imagesResized: 1, imagesWithoutResized: 1 };
      const done = await store.batches.finishExport(created.id, { status: 'succeeded', shards: [shard], stats });
      expect(done).toMatchObject({ status: 'succeeded', shards: [shard], stats });
      expect(await store.batches.getExport(created.id)).toEqual(done);
      expect(done?.finishedAt).toBeDefined();
      const again = await store.batches.finishExport(created.id, { status: 'failed', error: { code: 'x', message: 'y' } });
      expect(again).toEqual(done);
      expect(await store.batches.getExport('nope')).toBeNull();
      expect(await store.batches.finishExport('nope', { status: 'succeeded', shards: [], stats })).toBeNull();
    });
  });
}
