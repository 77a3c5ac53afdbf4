/**
 * The FrontierStore (store.frontier) and FeedStore (store.feed) contracts, run against every TaskStore
 * adapter. Uses the port only.
 */
import type { CrawlSpec } from '../../src/models/crawl.js';
import type { TaskStore } from '../../src/models/task-store.js';
import type { Task } from '../../src/models/task.js';
import { eachStore } from './store-lifecycle.js';

const spec = (over: Partial<CrawlSpec> = {}): CrawlSpec => ({
  url: 'https://site.test/', maxPages: 5, maxDepth: 3, include: [], exclude: [], sitemaps: false, sameSite: true, stripTrackingParams: false, ...over,
});
const page = (i: number) => `https://site.test/p/${i}`;

async function crawlBatch(store: TaskStore, over: Partial<CrawlSpec> = {}, kinds: Array<'text' | 'images'> = ['text']) {
  const s = spec(over);
  return store.batches.createBatch({ kinds, refresh: false, urls: [s.url], crawl: s });
}

async function batchTasks(store: TaskStore, batchId: string): Promise<Task[]> {
  const out: Task[] = [];
  let cursor: string | undefined;
  do {
    const p = await store.batches.listBatchTasks(batchId, { limit: 1000, cursor });
    out.push(...p.items);
    cursor = p.nextCursor;
  } while (cursor);
  return out;
}

export function describeFrontierStoreContract(name: string, open: () => Promise<TaskStore>, cleanup?: (store: TaskStore) => Promise<void>): void {
  describe(`FrontierStore and FeedStore contract: ${name}`, () => {
    let store: TaskStore;
    eachStore(open, cleanup, (s) => (store = s));

    it('starts a crawl with its start URL as page 0 at depth 0, its spec kept on the batch', async () => {
      const { batch, jobs } = await crawlBatch(store, {}, ['text', 'images']);
      expect(jobs).toHaveLength(2);
      expect(batch.crawl).toEqual(spec());
      expect((await store.batches.getBatch(batch.id))?.crawl).toEqual(spec());
      expect(await store.frontier.counters(batch.id)).toEqual({ discovered: 1, queued: 1, done: 0, depthReached: 0 });
      expect((await batchTasks(store, batch.id)).map((t) => [t.url, t.kind, t.batchSeq])).toEqual([
        ['https://site.test/', 'text', 0], ['https://site.test/', 'images', 1],
      ]);
    });

    it('adds new URLs once, with their depth, one task per kind each, and counts them', async () => {
      const { batch } = await crawlBatch(store, {}, ['text', 'images']);
      const jobs = await store.frontier.add(batch.id, [{ url: page(1), depth: 1 }, { url: page(2), depth: 2 }, { url: page(1), depth: 1 }, { url: 'https://site.test/', depth: 1 }]);
      expect(jobs.map((j) => j.kind)).toEqual(['text', 'images', 'text', 'images']);
      expect(await store.frontier.add(batch.id, [{ url: page(2), depth: 1 }])).toEqual([]);
      expect(await store.frontier.depthOf(batch.id, page(2))).toBe(2);
      expect(await store.frontier.depthOf(batch.id, 'https://site.test/')).toBe(0);
      expect(await store.frontier.depthOf(batch.id, page(7))).toBeNull();
      const tasks = await batchTasks(store, batch.id);
      expect(tasks.map((t) => [t.url, t.batchSeq, t.status])).toEqual([
        ['https://site.test/', 0, 'queued'], ['https://site.test/', 1, 'queued'],
        [page(1), 2, 'queued'], [page(1), 3, 'queued'], [page(2), 4, 'queued'], [page(2), 5, 'queued'],
      ]);
      const got = await store.batches.getBatch(batch.id);
      expect(got).toMatchObject({ urlCount: 3, taskCount: 6 });
      expect(got?.progress.counts.queued).toBe(6);
      expect(await store.frontier.counters(batch.id)).toEqual({ discovered: 3, queued: 3, done: 0, depthReached: 2 });
    });

    it('admits max_pages pages exactly; later URLs are discovered but not queued', async () => {
      const { batch } = await crawlBatch(store, { maxPages: 3 });
      const jobs = await store.frontier.add(batch.id, [1, 2, 3, 4].map((i) => ({ url: page(i), depth: 1 })));
      expect(jobs).toHaveLength(2);
      expect(await store.frontier.add(batch.id, [{ url: page(9), depth: 1 }])).toEqual([]);
      expect((await batchTasks(store, batch.id)).map((t) => t.url)).toEqual(['https://site.test/', page(1), page(2)]);
      expect(await store.frontier.counters(batch.id)).toMatchObject({ discovered: 6, queued: 3 });
    });

    it('counts a page done once all its tasks are final', async () => {
      const { batch, jobs } = await crawlBatch(store, {}, ['text', 'images']);
      await store.finishTask(jobs[0]!.taskId, { status: 'succeeded' });
      expect((await store.frontier.counters(batch.id))?.done).toBe(0);
      await store.finishTask(jobs[1]!.taskId, { status: 'failed', error: { code: 'http_error', message: '404' } });
      expect((await store.frontier.counters(batch.id))?.done).toBe(1);
    });

    it('queues nothing twice when an add is repeated as a recheck (a page task run again)', async () => {
      const { batch } = await crawlBatch(store, {}, ['text', 'images']);
      const found = [1, 2].map((i) => ({ url: page(i), depth: 1 }));
      expect(await store.frontier.add(batch.id, found)).toHaveLength(4);
      expect(await store.frontier.add(batch.id, found, { recheck: true })).toEqual([]);
      expect(await store.frontier.add(batch.id, [{ url: 'https://site.test/', depth: 1 }], { recheck: true })).toEqual([]);
      const tasks = await batchTasks(store, batch.id);
      expect(tasks.map((t) => t.batchSeq)).toEqual([0, 1, 2, 3, 4, 5]);
    });

    it('adds nothing to a cancelled crawl, an unknown batch or a plain batch', async () => {
      const { batch } = await crawlBatch(store);
      await store.batches.cancelBatch(batch.id);
      expect(await store.frontier.add(batch.id, [{ url: page(1), depth: 1 }])).toEqual([]);
      expect(await store.frontier.add('nope', [{ url: page(1), depth: 1 }])).toEqual([]);
      const plain = await store.batches.createBatch({ kinds: ['text'], refresh: false, urls: [page(1)] });
      expect(await store.frontier.add(plain.batch.id, [{ url: page(2), depth: 1 }])).toEqual([]);
      expect(await store.frontier.counters(plain.batch.id)).toBeNull();
      expect(await store.frontier.counters('nope')).toBeNull();
    });

    it('feeds waiting tasks oldest first, each once, and only unfinished ones', async () => {
      const { batch, jobs } = await crawlBatch(store);
      const more = await store.frontier.add(batch.id, [1, 2, 3].map((i) => ({ url: page(i), depth: 1 })));
      await store.finishTask(more[2]!.taskId, { status: 'failed', error: { code: 'cancelled', message: 'x' } });
      const first = await store.feed.takeWaiting(2);
      expect(first).toEqual([jobs[0], more[0]]);
      expect(await store.feed.takeWaiting(10)).toEqual([more[1]]);
      expect(await store.feed.takeWaiting(10)).toEqual([]);
      // Marked again (a retry), or all at once after a restart.
      await store.feed.markWaiting([more[0]!.taskId, more[2]!.taskId]);
      expect(await store.feed.takeWaiting(10)).toEqual([more[0]]);
      expect(await store.feed.markUnfinishedWaiting()).toBe(3);
      expect((await store.feed.takeWaiting(10)).map((j) => j.taskId).sort()).toEqual([jobs[0], more[0], more[1]].map((j) => j!.taskId).sort());
    });

    it('stores a batch\'s tasks dispatch-pending (the outbox): unswept once dispatched, swept when the caller died first', async () => {
      const { jobs } = await store.batches.createBatch({ kinds: ['text'], refresh: false, urls: [page(1), page(2)] });
      await store.markDispatched([jobs[0]!.taskId]);
      expect((await store.takeUndispatched({ olderThanMs: 0, limit: 10 })).map((t) => t.id)).toEqual([jobs[1]!.taskId]);
    });

    it('records the dispatch receipts of a 400-task batch in one call (FerretDB once deadlocked on it)', async () => {
      const { jobs } = await store.batches.createBatch({ kinds: ['text', 'images'], refresh: false, urls: Array.from({ length: 200 }, (_, i) => page(i)) });
      await store.markDispatched(jobs.map((j) => j.taskId));
      expect(await store.takeUndispatched({ olderThanMs: 0, limit: 10 })).toEqual([]);
    });

    it('marks the tasks a batch retry re-queues dispatch-pending, so a crash before their dispatch loses none', async () => {
      const { batch, jobs } = await store.batches.createBatch({ kinds: ['text'], refresh: false, urls: [page(1), page(2)] });
      await store.markDispatched(jobs.map((j) => j.taskId));
      await store.finishTask(jobs[0]!.taskId, { status: 'failed', error: { code: 'http_error', message: '500' } });
      await store.finishTask(jobs[1]!.taskId, { status: 'succeeded' });
      expect(await store.batches.retryBatch(batch.id)).toEqual([jobs[0]]);
      expect((await store.takeUndispatched({ olderThanMs: 0, limit: 10 })).map((t) => t.id)).toEqual([jobs[0]!.taskId]);
    });
  });
}

/** Two instances on one store racing to add overlapping URLs: each URL queued once, max_pages never exceeded. */
export function describeFrontierRace(pair: () => [TaskStore, TaskStore]): void {
  it('dedupes and keeps max_pages exact when two instances add overlapping URLs at once', async () => {
    const [a, b] = pair();
    const s = spec({ maxPages: 25 });
    const { batch } = await a.batches.createBatch({ kinds: ['text', 'images'], refresh: false, urls: [s.url], crawl: s });
    const urls = Array.from({ length: 40 }, (_, i) => ({ url: page(i), depth: 1 }));
    // Four adders, two per instance, each with every URL in its own order.
    const orders = [urls, [...urls].reverse(), urls.slice(20).concat(urls.slice(0, 20)), urls.filter((_, i) => i % 2).concat(urls.filter((_, i) => i % 2 === 0))];
    const results = await Promise.all(orders.map((order, i) => (i % 2 ? a : b).frontier.add(batch.id, order)));
    expect(results.flat()).toHaveLength(24 * 2);
    const tasks = await batchTasks(a, batch.id);
    expect(tasks).toHaveLength(25 * 2);
    expect(new Set(tasks.filter((t) => t.kind === 'text').map((t) => t.url)).size).toBe(25);
    expect(tasks.map((t) => t.batchSeq)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(await b.frontier.counters(batch.id)).toMatchObject({ discovered: 41, queued: 25 });
    expect(await b.batches.getBatch(batch.id)).toMatchObject({ urlCount: 25, taskCount: 50 });
  });
}
