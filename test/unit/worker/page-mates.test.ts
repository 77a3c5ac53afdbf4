/**
 * Page-mates (Job.siblings) and first deliveries in the task runner: the worker that takes one task of a page
 * runs the page's other queued tasks off the same fetch, and a fresh duplicate of a task another live worker
 * holds is left to that worker instead of waiting for it. Real store (SQLite), fetcher, parser and volume.
 */
import { jest } from '@jest/globals';
import { createLogger } from '../../../src/logger.js';
import type { Job } from '../../../src/queue/job-queue.js';
import { withPageSiblings } from '../../../src/queue/page-siblings.js';
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

  /** A batch of one page with a text and an images task, as the API dispatches it. */
  async function pageBatch(): Promise<Job[]> {
    const { jobs } = await store.batches.createBatch({ kinds: ['text', 'images'], refresh: false, urls: [site.url('/page')] });
    return withPageSiblings(jobs, 2);
  }

  it('names each job of a URL the other jobs of that URL, in the order createBatch returns them', async () => {
    const { jobs } = await store.batches.createBatch({ kinds: ['text', 'images'], refresh: false, urls: [site.url('/page'), site.url('/other')] });
    const tasks = await Promise.all(jobs.map((j) => store.getTask(j.taskId)));
    expect(tasks.map((t) => [t?.url, t?.kind])).toEqual([[site.url('/page'), 'text'], [site.url('/page'), 'images'], [site.url('/other'), 'text'], [site.url('/other'), 'images']]);
    expect(withPageSiblings(jobs, 2).map((j) => j.siblings)).toEqual([[jobs[1]!.taskId], [jobs[0]!.taskId], [jobs[3]!.taskId], [jobs[2]!.taskId]]);
    expect(withPageSiblings(jobs, 1).every((j) => j.siblings === undefined)).toBe(true);
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

  it('runs the queued page-mates of a job with it, and the page-mate\'s own message then finds it done', async () => {
    const [text, images] = await pageBatch();
    const before = { page: site.hits('/page'), images: site.hits('/a.png') + site.hits('/b.png') };
    await runner.handle({ ...text!, firstDelivery: true });
    expect(await store.getTask(text!.taskId)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await store.getTask(images!.taskId)).toMatchObject({ status: 'succeeded', attempts: 1, counts: { found: 2, stored: 2 } });
    await runner.handle({ ...images!, firstDelivery: true });
    expect(await store.getTask(images!.taskId)).toMatchObject({ status: 'succeeded', attempts: 1 });
    // One fetch of the page for both tasks, one of each image.
    expect(site.hits('/page') - before.page).toBe(1);
    expect(site.hits('/a.png') + site.hits('/b.png') - before.images).toBe(2);
  });

  it('starts a fresh job\'s page-mates in one store call, and a redelivery\'s one by one', async () => {
    const [text, images] = await pageBatch();
    const together = jest.spyOn(store, 'startTasks');
    const one = jest.spyOn(store, 'startTask');
    try {
      await runner.handle({ ...images!, firstDelivery: true });
      expect(together).toHaveBeenCalledTimes(1);
      expect(together.mock.calls[0]!.slice(0, 1)).toEqual([[text!.taskId, images!.taskId].sort()]);
      expect(one).not.toHaveBeenCalled();
      expect(await store.getTask(text!.taskId)).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect(await store.getTask(images!.taskId)).toMatchObject({ status: 'succeeded', attempts: 1 });
      // A redelivery (not fresh) goes one by one, as before: both are final, so nothing runs.
      together.mockClear();
      await runner.handle({ ...images!, replayed: false });
      expect(together).not.toHaveBeenCalled();
    } finally {
      together.mockRestore();
      one.mockRestore();
    }
  });

  it('finishes the page-mate that succeeded and gives back the one that crashed, started together', async () => {
    const [text, images] = await pageBatch();
    const claimImages = store.claimImages.bind(store);
    store.claimImages = () => Promise.reject(new Error('disk went away'));
    try {
      await expect(runner.handle({ ...text!, firstDelivery: true })).rejects.toThrow('disk went away');
    } finally {
      store.claimImages = claimImages;
    }
    expect(await store.getTask(text!.taskId)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await store.getTask(images!.taskId)).toMatchObject({ status: 'queued', attempts: 1, error: { code: 'internal_error' } });
    // The job's retry runs the one given back; the finished one is left as it is.
    await runner.handle({ ...text!, firstDelivery: true, retried: true });
    expect(await store.getTask(images!.taskId)).toMatchObject({ status: 'succeeded', attempts: 2, counts: { found: 2 } });
    expect(await store.getTask(text!.taskId)).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('acknowledges the page-mate\'s message of a page it ran without asking the store, unless it is a replay', async () => {
    const [text, images] = await pageBatch();
    await runner.handle({ ...text!, firstDelivery: true });
    const starts = jest.spyOn(store, 'startTask');
    try {
      // Both tasks succeeded here: nothing reopens a succeeded task, so the message needs no store call.
      await runner.handle({ ...images!, firstDelivery: true });
      await runner.handle({ ...images! }); // a redelivery too
      expect(starts).not.toHaveBeenCalled();
      // A replay from the dead-letter queue may reopen a task: it asks the store (which finds this one final).
      await runner.handle({ ...images!, replayed: true });
      expect(starts).toHaveBeenCalled();
    } finally {
      starts.mockRestore();
    }
    expect(await store.getTask(images!.taskId)).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('tells the queue its work is done once, before the job ends, whether it ran the page or found it done', async () => {
    const [text, images] = await pageBatch();
    const order: string[] = [];
    const progress = { workDone: () => void order.push('work done') };
    await runner.handle({ ...text!, firstDelivery: true }, progress).then(() => order.push('ended'));
    expect(order).toEqual(['work done', 'ended']);
    expect(await store.getTask(images!.taskId)).toMatchObject({ status: 'succeeded', counts: { found: 2, stored: 2 } });
    order.length = 0;
    await runner.handle({ ...images!, firstDelivery: true }, progress).then(() => order.push('ended'));
    expect(order).toEqual(['work done', 'ended']);
  });

  it('tells the queue its end is near once the page is fetched, before its work is done', async () => {
    const [text] = await pageBatch();
    const order: string[] = [];
    const progress = { workDone: () => void order.push('work done'), nearEnd: () => void order.push('near end') };
    await runner.handle({ ...text!, firstDelivery: true }, progress);
    // Once for the page (its two tasks share one fetch).
    expect(order).toEqual(['near end', 'work done']);
  });

  it('never reads ahead for a job without page-mates (its message is the only one for its task)', async () => {
    const { jobs } = await store.batches.createBatch({ kinds: ['text'], refresh: false, urls: [site.url('/alone')] });
    const job = jobs[0]!;
    await store.startTask(job.taskId, { owner: 'other-worker', ms: 60_000 });
    const reads = jest.spyOn(store, 'getTask');
    try {
      expect(await runner.coveredElsewhere({ ...job, siblings: undefined, firstDelivery: true })).toBe(false);
      expect(reads).not.toHaveBeenCalled();
    } finally {
      reads.mockRestore();
    }
  });

  it('says a fresh job is covered elsewhere exactly when handle would start nothing for it, reading without starting', async () => {
    const starts = jest.spyOn(store, 'startTask');
    try {
      const [text, images] = await pageBatch();
      // All queued: the job has work.
      expect(await runner.coveredElsewhere({ ...text!, firstDelivery: true })).toBe(false);
      expect(await runner.coveredElsewhere({ ...images!, firstDelivery: true })).toBe(false);
      // The page taken by another live worker (it started the first task, then the rest).
      await store.startTask(text!.taskId, { owner: 'other-worker', ms: 60_000 });
      expect(await runner.coveredElsewhere({ ...text!, firstDelivery: true })).toBe(true);
      // The images job would start its own task, still queued (the holder may run its text task alone).
      expect(await runner.coveredElsewhere({ ...images!, firstDelivery: true })).toBe(false);
      await store.startTask(images!.taskId, { owner: 'other-worker', ms: 60_000 });
      expect(await runner.coveredElsewhere({ ...images!, firstDelivery: true })).toBe(true);
      // A redelivery, a retry or a replay may be the only message left for its task: never covered.
      expect(await runner.coveredElsewhere({ ...images! })).toBe(false);
      expect(await runner.coveredElsewhere({ ...images!, firstDelivery: true, retried: true })).toBe(false);
      expect(await runner.coveredElsewhere({ ...images!, firstDelivery: true, replayed: true })).toBe(false);
      // A lease that ran out is no cover: a worker that died holds nothing.
      await store.startTask(images!.taskId, { owner: 'other-worker', ms: 1 });
      await new Promise((r) => setTimeout(r, 10));
      expect(await runner.coveredElsewhere({ ...images!, firstDelivery: true })).toBe(false);
      expect(starts).toHaveBeenCalledTimes(3); // this test's own starts only
    } finally {
      starts.mockRestore();
    }
    // A page run here: both its jobs are covered (final), as handle would find.
    const [text, images] = await pageBatch();
    await runner.handle({ ...text!, firstDelivery: true });
    expect(await runner.coveredElsewhere({ ...images!, firstDelivery: true })).toBe(true);
    expect(await runner.coveredElsewhere({ ...text!, firstDelivery: true })).toBe(true);
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

  it('starts the page\'s tasks in one order from any of its jobs, and still runs its own when the first is held elsewhere', async () => {
    const [text, images] = await pageBatch();
    // The images job starts the page's first task (the text one) before its own: whichever worker wins that start wins the page.
    await runner.handle({ ...images!, firstDelivery: true });
    expect(await store.getTask(text!.taskId)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await store.getTask(images!.taskId)).toMatchObject({ status: 'succeeded', attempts: 1 });

    // The first task held by a worker that runs it alone (e.g. a sweeper's dispatch, which names no page-mates).
    const [text2, images2] = await pageBatch();
    await store.startTask(text2!.taskId, { owner: 'other-worker', ms: 60_000 });
    await runner.handle({ ...images2!, firstDelivery: true });
    expect(await store.getTask(images2!.taskId)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await store.getTask(text2!.taskId)).toMatchObject({ status: 'running', lease: { owner: 'other-worker' } });
  });

  it('leaves a page-mate that another live worker holds to that worker', async () => {
    const [text, images] = await pageBatch();
    await store.startTask(images!.taskId, { owner: 'other-worker', ms: 60_000 });
    await runner.handle({ ...text!, firstDelivery: true });
    expect(await store.getTask(text!.taskId)).toMatchObject({ status: 'succeeded' });
    expect(await store.getTask(images!.taskId)).toMatchObject({ status: 'running', attempts: 1, lease: { owner: 'other-worker' } });
  });

  it('acknowledges a first delivery of a task another live worker holds at once, and makes a redelivery wait for its lease', async () => {
    const [text] = await pageBatch();
    await store.startTask(text!.taskId, { owner: 'other-worker', ms: 60_000 });
    // Fresh: that worker holds the task's message (or a page-mate's), which the broker redelivers if it dies.
    await runner.handle({ taskId: text!.taskId, kind: 'text', firstDelivery: true });
    expect(await store.getTask(text!.taskId)).toMatchObject({ status: 'running', attempts: 1, lease: { owner: 'other-worker' } });
    // A redelivery may be the dead holder's own message: it waits for the lease to run out, then takes over.
    await store.startTask(text!.taskId, { owner: 'other-worker', ms: 300 });
    await runner.handle({ taskId: text!.taskId, kind: 'text' });
    expect(await store.getTask(text!.taskId)).toMatchObject({ status: 'succeeded', attempts: 3 });
  });

  it('reruns a page-mate given back after a crash on the retry of the job that started it', async () => {
    const [text, images] = await pageBatch();
    // As after a crash of the images run: started by this job's earlier run, then given back to the queue.
    await store.startTask(images!.taskId, { owner: 'this-worker', ms: 60_000 });
    await store.releaseTask(images!.taskId, 'this-worker', { code: 'internal', message: 'disk went away' });
    await store.finishTask(text!.taskId, { status: 'succeeded' });
    // A fresh duplicate of the finished task leaves the page-mate to its own message (no store calls for it)...
    await runner.handle({ ...text!, firstDelivery: true });
    expect(await store.getTask(images!.taskId)).toMatchObject({ status: 'queued', attempts: 1 });
    // ...the retry of the job that gave it back runs it.
    await runner.handle({ ...text!, firstDelivery: true, retried: true });
    expect(await store.getTask(images!.taskId)).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('fails a page-mate it gave back when the queue dead-letters the job, and leaves one never started', async () => {
    const [text, images] = await pageBatch();
    await store.startTask(images!.taskId, { owner: 'this-worker', ms: 60_000 });
    await store.releaseTask(images!.taskId, 'this-worker', { code: 'internal', message: 'disk went away' });
    await runner.onDeadLetter(text!, new Error('disk went away'));
    expect(await store.getTask(text!.taskId)).toMatchObject({ status: 'failed', error: { code: 'attempts_exhausted' } });
    expect(await store.getTask(images!.taskId)).toMatchObject({ status: 'failed', error: { code: 'attempts_exhausted' } });

    const [text2, images2] = await pageBatch();
    await runner.onDeadLetter(text2!, new Error('disk went away'));
    expect(await store.getTask(images2!.taskId)).toMatchObject({ status: 'queued' });
  });
});
