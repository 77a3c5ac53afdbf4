import { createLogger } from '../../../src/logger.js';
import type { FrontierStore } from '../../../src/models/frontier-store.js';
import type { CrawlSpec } from '../../../src/models/crawl.js';
import { openSqliteTaskStore, type SqliteTaskStore } from '../../../src/models/sqlite/sqlite-task-store.js';
import type { Fetcher } from '../../../src/scrape/fetcher.js';
import type { BatchJob } from '../../../src/models/batch.js';
import { createCrawlStep } from '../../../src/worker/crawl-step.js';
import type { FetchedPage } from '../../../src/worker/page.js';

describe('the crawl step of a page task', () => {
  let store: SqliteTaskStore;
  beforeEach(() => {
    store = openSqliteTaskStore(':memory:');
  });
  afterEach(() => store.close());

  const spec: CrawlSpec = {
    url: 'https://site.test/', maxPages: 10, maxDepth: 3, include: [], exclude: [], sitemaps: false, sameSite: true, stripTrackingParams: false,
  };
  const page = { links: ['https://site.test/a', 'https://site.test/b#top', 'https://elsewhere.test/'] } as unknown as FetchedPage;

  it('adds the in-scope links of a first attempt plainly, and rechecks them on a later attempt', async () => {
    const { jobs } = await store.batches.createBatch({ kinds: ['text'], refresh: false, urls: [spec.url], crawl: spec });
    const calls: Array<{ urls: string[]; recheck: boolean | undefined }> = [];
    const frontier: FrontierStore = store.frontier;
    const add = frontier.add.bind(frontier);
    frontier.add = (batchId, candidates, opts) => {
      calls.push({ urls: candidates.map((c) => c.url), recheck: opts?.recheck });
      return add(batchId, candidates, opts);
    };
    const submitted: BatchJob[] = [];
    const step = createCrawlStep({
      store, fetcher: {} as Fetcher, sink: { submit: async (j) => void submitted.push(...j) }, log: createLogger('silent'),
      limits: { timeoutMs: 1000, maxBytes: 1 << 20, maxRedirects: 3 },
    });
    const first = await store.startTask(jobs[0]!.taskId);
    await step.afterPage(first!, page, new AbortController().signal);
    // Its worker died: the task starts again, on its second attempt.
    const again = await store.startTask(jobs[0]!.taskId);
    expect(again?.attempts).toBe(2);
    await step.afterPage(again!, page, new AbortController().signal);
    expect(calls).toEqual([
      { urls: ['https://site.test/a', 'https://site.test/b'], recheck: false },
      { urls: ['https://site.test/a', 'https://site.test/b'], recheck: true },
    ]);
    expect(submitted.map((j) => j.kind)).toEqual(['text', 'text']);
  });
});
