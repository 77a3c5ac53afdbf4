/**
 * The RabbitMQ outbox with one message per page: the page's message, once confirmed, clears the dispatch
 * receipts of its page-mates too, and a page whose message never went out has every task swept. A real
 * SQLite store and the embedded queue underneath (it confirms at once).
 */
import path from 'node:path';
import { pino } from 'pino';
import { openSqliteTaskStore, type SqliteTaskStore } from '../../src/models/sqlite/sqlite-task-store.js';
import { startDispatchSweeper, withDispatchReceipts } from '../../src/queue/dispatch-sweeper.js';
import { InlineQueue } from '../../src/queue/inline-queue.js';
import type { Job } from '../../src/queue/job-queue.js';
import { pageJobs } from '../../src/queue/page-siblings.js';
import { tempDir } from '../helpers/temp.js';

const log = pino({ level: 'silent' });
const urls = ['https://example.test/a', 'https://example.test/b'];

describe('dispatch receipts of a page\'s one message', () => {
  let store: SqliteTaskStore;
  let inner: InlineQueue;
  const ran: Job[] = [];
  beforeEach(async () => {
    store = openSqliteTaskStore(path.join(tempDir(), 'tasks.db'));
    inner = new InlineQueue(100);
    ran.length = 0;
    await inner.consume(async (job) => void ran.push(job), { concurrency: 1 });
  });
  afterEach(() => store.close());

  it('clears every task of the page once its lead\'s message is confirmed, so the sweeper sends none again', async () => {
    const queue = withDispatchReceipts(inner, store, log);
    const { jobs } = await store.batches.createBatch({ kinds: ['text', 'images'], refresh: false, urls });
    const pages = pageJobs(jobs, 2);
    for (const job of pages) await queue.dispatch(job);
    await queue.close(); // writes the receipts
    expect(ran.map((j) => j.siblings)).toEqual([[jobs[1]!.taskId], [jobs[3]!.taskId]]);
    expect(await store.takeUndispatched({ olderThanMs: 0, limit: 10 })).toEqual([]);
  });

  it('sweeps every task of a page whose message never went out (the API died between insert and publish)', async () => {
    const queue = withDispatchReceipts(inner, store, log);
    const { jobs } = await store.batches.createBatch({ kinds: ['text', 'images'], refresh: false, urls });
    await new Promise((r) => setTimeout(r, 5));
    const sweeper = startDispatchSweeper({ store, queue, log, olderThanMs: 1 });
    try {
      expect(await sweeper.sweep()).toBe(4);
    } finally {
      await sweeper.stop();
    }
    await inner.drained();
    expect(ran.map((j) => j.taskId).sort()).toEqual(jobs.map((j) => j.taskId).sort());
    await queue.close();
    expect(await store.takeUndispatched({ olderThanMs: 0, limit: 10 })).toEqual([]);
  });
});
