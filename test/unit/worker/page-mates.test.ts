/**
 * Page-mates (Job.siblings) and first deliveries in the task runner: a batch's page has one message, whose job
 * runs every task of the page off the same fetch, and a fresh duplicate of a task another live worker holds is
 * left to that worker instead of waiting for it. Real store (SQLite), fetcher, parser and volume.
 */
import { jest } from '@jest/globals';
import { createLogger } from '../../../src/logger.js';
import type { Job } from '../../../src/queue/job-queue.js';
import { pageJobs } from '../../../src/queue/page-siblings.js';
import { decodeCeleryTask, encodeCeleryTask, SIBLINGS_HEADER } from '../../../src/queue/celery/celery-message.js';
import { openSqliteTaskStore, type SqliteTaskStore } from '../../../src/models/sqlite/sqlite-task-store.js';
import { createFetcher } from '../../../src/scrape/fetcher.js';
import { inlineExtractor } from '../../../src/scrape/page-extractor.js';
import { VolumeBlobStore } from '../../../src/storage/volume-blob-store.js';
import { createTaskRunner, type TaskRunner } from '../../../src/worker/task-runner.js';
import { RecentPages } from '../../../src/worker/recent-pages.js';
import { startFixtureSite, type FixtureSite } from '../../fixtures/site.js';
import { png } from '../../fixtures/images.js';
import { tempDir } from '../../helpers/temp.js';

const PAGE = '<html><head><title>Mates</title></head><body><main><p>One page, two tasks.</p><img src="/a.png" alt="a"><img src="/b.png" alt="b"></main></body></html>';

describe('page-mates in the task runner', () => {
  let site: FixtureSite;
  let store: SqliteTaskStore;
  let runner: TaskRunner;
  const fetcher = createFetcher({ userAgent: 'scrapeds-test', policy: { allowPrivate: true, allowCidrs: [] }, connectTimeoutMs: 2000 });

  beforeAll(async () => {
    site = await startFixtureSite();
    site.serve('/page', PAGE, 'text/html');
    site.serve('/a.png', png(8, 8, 1), 'image/png');
    site.serve('/b.png', png(8, 8, 2), 'image/png');
  });
  afterAll(async () => {
    await fetcher.close();
    await site.close();
  });
  beforeEach(() => {
    store = openSqliteTaskStore(':memory:');
    runner = createTaskRunner({
      store,
      blobs: new VolumeBlobStore(tempDir(), 'http://media.test'),
      log: createLogger('silent'),
      taskTimeoutMs: 10_000,
      lease: { owner: 'this-worker', ms: 60_000 },
      maxAttempts: 5,
      pages: { fetcher, extractor: inlineExtractor(), recent: new RecentPages({ ttlMs: 60_000, maxBytes: 1 << 20 }), timeoutMs: 5000, maxBytes: 1 << 20, maxRedirects: 3 },
      images: { concurrency: 4, maxBytes: 1 << 20, maxPerPage: 100, claimStaleMs: 60_000 },
    });
  });
  afterEach(() => store.close());

  /** A batch of one page with a text and an images task, as the API dispatches it: one job, the text task's, naming the images task. */
  async function pageBatch(): Promise<[Job, string]> {
    const { jobs } = await store.batches.createBatch({ kinds: ['text', 'images'], refresh: false, urls: [site.url('/page')] });
    const [page] = pageJobs(jobs, 2);
    return [page!, jobs[1]!.taskId];
  }

  it('makes one job per URL, led by its first kind\'s task and naming the others; one kind alone has no page-mates', async () => {
    const { jobs } = await store.batches.createBatch({ kinds: ['text', 'images'], refresh: false, urls: [site.url('/page'), site.url('/other')] });
    const tasks = await Promise.all(jobs.map((j) => store.getTask(j.taskId)));
    expect(tasks.map((t) => [t?.url, t?.kind])).toEqual([[site.url('/page'), 'text'], [site.url('/page'), 'images'], [site.url('/other'), 'text'], [site.url('/other'), 'images']]);
    expect(pageJobs(jobs, 2)).toEqual([
      { taskId: jobs[0]!.taskId, kind: 'text', siblings: [jobs[1]!.taskId] },
      { taskId: jobs[2]!.taskId, kind: 'text', siblings: [jobs[3]!.taskId] },
    ]);
    expect(pageJobs(jobs, 1)).toEqual(jobs);
  });

  it('carries page-mates in a Celery header, keeping args [task_id], and reads only well-formed ids back', () => {
    const wire = (e: ReturnType<typeof encodeCeleryTask>) => ({ content: e.content, properties: e.options as { headers?: Record<string, unknown> } });
    const sent = wire(encodeCeleryTask({ taskId: 't1', kind: 'text', siblings: ['t2'] }));
    expect(JSON.parse(sent.content.toString())[0]).toEqual(['t1']);
    expect(decodeCeleryTask(sent)).toMatchObject({ ok: true, job: { taskId: 't1', kind: 'text', siblings: ['t2'] } });
    const junk = { ...sent, properties: { ...sent.properties, headers: { ...sent.properties.headers, [SIBLINGS_HEADER]: ['t1', 7, '', 'a\u0000b', 't3'] } } };
    expect(decodeCeleryTask(junk)).toMatchObject({ ok: true, job: { siblings: ['t3'] } });
    expect(decodeCeleryTask(wire(encodeCeleryTask({ taskId: 't1', kind: 'text' })))).toMatchObject({ ok: true, job: { taskId: 't1', kind: 'text' } });
    expect(encodeCeleryTask({ taskId: 't1', kind: 'text' }).options.headers).not.toHaveProperty(SIBLINGS_HEADER);
  });

  it('runs the page\'s tasks off one fetch from its one message, starting them in one store call', async () => {
    const [page, images] = await pageBatch();
    const before = { page: site.hits('/page'), images: site.hits('/a.png') + site.hits('/b.png') };
    const together = jest.spyOn(store, 'startTasks');
    const one = jest.spyOn(store, 'startTask');
    try {
      await runner.handle({ ...page, firstDelivery: true });
      expect(together).toHaveBeenCalledTimes(1);
      expect(together.mock.calls[0]![0]).toEqual([page.taskId, images]);
      expect(one).not.toHaveBeenCalled();
    } finally {
      together.mockRestore();
      one.mockRestore();
    }
    expect(await store.getTask(page.taskId)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await store.getTask(images)).toMatchObject({ status: 'succeeded', attempts: 1, counts: { found: 2, stored: 2 } });
    // One fetch of the page for both tasks, one of each image.
    expect(site.hits('/page') - before.page).toBe(1);
    expect(site.hits('/a.png') + site.hits('/b.png') - before.images).toBe(2);
  });

  it('still runs a page-mate whose lead task is already final (the mate has no message of its own)', async () => {
    const [page, images] = await pageBatch();
    await store.finishTask(page.taskId, { status: 'failed', error: { code: 'cancelled', message: 'done elsewhere' } });
    await runner.handle({ ...page, firstDelivery: true });
    expect(await store.getTask(images)).toMatchObject({ status: 'succeeded', attempts: 1, counts: { found: 2 } });
    expect(await store.getTask(page.taskId)).toMatchObject({ status: 'failed', attempts: 0 });
  });

  it('runs nothing for a page of a cancelled batch, and fetches nothing', async () => {
    const { batch, jobs } = await store.batches.createBatch({ kinds: ['text', 'images'], refresh: false, urls: [site.url('/page')] });
    const [page] = pageJobs(jobs, 2);
    await store.batches.cancelBatch(batch.id);
    const before = site.hits('/page');
    await runner.handle({ ...page!, firstDelivery: true });
    expect(site.hits('/page')).toBe(before);
    for (const job of jobs) expect(await store.getTask(job.taskId)).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'cancelled' } });
  });

  it('finishes the page-mate that succeeded and gives back the one that crashed; the retry of the page runs it', async () => {
    const [page, images] = await pageBatch();
    const claimImages = store.claimImages.bind(store);
    store.claimImages = () => Promise.reject(new Error('disk went away'));
    try {
      await expect(runner.handle({ ...page, firstDelivery: true })).rejects.toThrow('disk went away');
    } finally {
      store.claimImages = claimImages;
    }
    expect(await store.getTask(page.taskId)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await store.getTask(images)).toMatchObject({ status: 'queued', attempts: 1, error: { code: 'internal_error' } });
    // The job's retry runs the one given back; the finished one is left as it is.
    await runner.handle({ ...page, firstDelivery: true, retried: true });
    expect(await store.getTask(images)).toMatchObject({ status: 'succeeded', attempts: 2, counts: { found: 2 } });
    expect(await store.getTask(page.taskId)).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('tells the queue its work is done once, before the job ends, whether it ran the page or found it done', async () => {
    const [page, images] = await pageBatch();
    const order: string[] = [];
    const progress = { workDone: () => void order.push('work done') };
    await runner.handle({ ...page, firstDelivery: true }, progress).then(() => order.push('ended'));
    expect(order).toEqual(['work done', 'ended']);
    expect(await store.getTask(images)).toMatchObject({ status: 'succeeded', counts: { found: 2, stored: 2 } });
    order.length = 0;
    await runner.handle({ ...page, firstDelivery: true }, progress).then(() => order.push('ended'));
    expect(order).toEqual(['work done', 'ended']);
  });

  it('runs again a task it saw fail when a batch retry reopens it and sends it afresh', async () => {
    const { batch, jobs } = await store.batches.createBatch({ kinds: ['text'], refresh: false, urls: [site.url('/later')] });
    await runner.handle({ ...jobs[0]!, firstDelivery: true });
    expect(await store.getTask(jobs[0]!.taskId)).toMatchObject({ status: 'failed', attempts: 1 });
    site.serve('/later', PAGE, 'text/html');
    const [again] = (await store.batches.retryBatch(batch.id))!;
    await runner.handle({ ...again!, firstDelivery: true });
    expect(await store.getTask(jobs[0]!.taskId)).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('leaves a page-mate another live worker holds to it on a fresh message; a redelivery waits for its lease and takes it over', async () => {
    const [page, images] = await pageBatch();
    await store.startTask(images, { owner: 'other-worker', ms: 60_000 });
    await runner.handle({ ...page, firstDelivery: true });
    expect(await store.getTask(page.taskId)).toMatchObject({ status: 'succeeded' });
    expect(await store.getTask(images)).toMatchObject({ status: 'running', attempts: 1, lease: { owner: 'other-worker' } });
    // The worker that ran the page died (its leases run out); the broker redelivers the page's message: it covers every task.
    const [page2, images2] = await pageBatch();
    await store.startTasks([page2.taskId, images2], { owner: 'dead-worker', ms: 300 });
    await runner.handle({ ...page2 });
    expect(await store.getTask(page2.taskId)).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(await store.getTask(images2)).toMatchObject({ status: 'succeeded', attempts: 2, counts: { found: 2 } });
  });

  it('acknowledges a first delivery of a task another live worker holds at once, and makes a redelivery wait for its lease', async () => {
    const [page] = await pageBatch();
    await store.startTask(page.taskId, { owner: 'other-worker', ms: 60_000 });
    // Fresh: that worker holds the task's message, which the broker redelivers if it dies.
    await runner.handle({ taskId: page.taskId, kind: 'text', firstDelivery: true });
    expect(await store.getTask(page.taskId)).toMatchObject({ status: 'running', attempts: 1, lease: { owner: 'other-worker' } });
    // A redelivery may be the dead holder's own message: it waits for the lease to run out, then takes over.
    await store.startTask(page.taskId, { owner: 'other-worker', ms: 300 });
    await runner.handle({ taskId: page.taskId, kind: 'text' });
    expect(await store.getTask(page.taskId)).toMatchObject({ status: 'succeeded', attempts: 3 });
  });

  it('fails the page-mates left queued when the queue dead-letters the page\'s message, leaves one another worker holds, and a replay reruns them', async () => {
    const [page, images] = await pageBatch();
    // Given back after a crash, or never started: either way the page's message was its only one.
    await runner.onDeadLetter(page, new Error('disk went away'));
    expect(await store.getTask(page.taskId)).toMatchObject({ status: 'failed', error: { code: 'attempts_exhausted' } });
    expect(await store.getTask(images)).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'attempts_exhausted' } });
    // An operator replays the message from the dead-letter queue: the page's tasks that gave up run afresh.
    await runner.handle({ ...page, firstDelivery: true, replayed: true });
    expect(await store.getTask(page.taskId)).toMatchObject({ status: 'succeeded' });
    expect(await store.getTask(images)).toMatchObject({ status: 'succeeded', counts: { found: 2 } });

    const [page2, images2] = await pageBatch();
    await store.startTask(images2, { owner: 'other-worker', ms: 60_000 });
    await runner.onDeadLetter(page2, new Error('disk went away'));
    expect(await store.getTask(images2)).toMatchObject({ status: 'running', lease: { owner: 'other-worker' } });
  });
});
