import { pino } from 'pino';
import { openSqliteTaskStore } from '../../src/models/sqlite/sqlite-task-store.js';
import type { TaskStore } from '../../src/models/task-store.js';
import { InlineQueue } from '../../src/queue/inline-queue.js';
import { StoreFeeder } from '../../src/queue/store-feeder.js';
import { tempDir } from '../helpers/temp.js';
import path from 'node:path';

const log = pino({ level: 'silent' });
const urls = (n: number) => Array.from({ length: n }, (_, i) => `https://example.test/${i}`);

describe('StoreFeeder', () => {
  let store: TaskStore;
  beforeEach(() => {
    store = openSqliteTaskStore(path.join(tempDir(), 'tasks.db'));
  });
  afterEach(() => store.close());

  it('feeds waiting tasks in order, each once, never filling more than half the queue', async () => {
    const queue = new InlineQueue(6);
    const feeder = new StoreFeeder(store.feed, queue, log);
    const { jobs } = await store.batches.createBatch({ kinds: ['text'], refresh: false, urls: urls(20) });
    const ran: string[] = [];
    let maxWaiting = 0;
    await queue.consume(async (job) => {
      maxWaiting = Math.max(maxWaiting, queue.size);
      ran.push(job.taskId);
      await store.finishTask(job.taskId, { status: 'succeeded' });
    }, { concurrency: 1 });
    feeder.poke();
    while (ran.length < 20) await new Promise((r) => setTimeout(r, 5));
    await queue.drained();
    await feeder.idle();
    expect(ran).toEqual(jobs.map((j) => j.taskId));
    expect(maxWaiting).toBeLessThanOrEqual(3);
    // Half the queue stayed free for single tasks.
    expect(() => queue.reserve().release()).not.toThrow();
    await feeder.stop();
    await queue.close();
  });

  it('at start resumes every unfinished task, queued or running, whatever the queue took before', async () => {
    const { jobs } = await store.batches.createBatch({ kinds: ['text', 'images'], refresh: false, urls: urls(3) });
    // The last run's feeder took them all into its queue, which died with it.
    expect(await store.feed.takeWaiting(100)).toHaveLength(6);
    await store.startTask(jobs[0]!.taskId);
    await store.finishTask(jobs[1]!.taskId, { status: 'succeeded' });
    const queue = new InlineQueue(100);
    const feeder = new StoreFeeder(store.feed, queue, log);
    expect(await feeder.start()).toBe(5);
    await feeder.idle();
    expect(queue.size).toBe(5);
    await feeder.stop();
    // A stopped feeder takes nothing more and says the queue no longer takes work.
    expect(feeder.accepting).toBe(false);
    await queue.close();
  });
});
