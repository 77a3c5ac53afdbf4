/** The JobQueue contract: every adapter (inline, RabbitMQ) runs these same tests. */
import { DeadLetterError, QueueClosedError, type Job, type JobQueue, type RetryPolicy } from '../../src/queue/job-queue.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await tick();
  }
}

/** What a job asks for, without its delivery history (firstDelivery, retried), which only a broker knows. */
export function what(job: Job): Job {
  const { firstDelivery: _first, retried: _retried, ...rest } = job;
  return rest;
}

/** A quick policy for the tests: a few runs, a short fixed wait between them. */
export const FAST_RETRY: RetryPolicy = { maxAttempts: 3, backoff: { strategy: 'fixed', minMs: 150, maxMs: 150 } };

/** `open(retry)` gives a fresh queue; with no policy, FAST_RETRY. */
export function describeJobQueueContract(name: string, open: (retry?: RetryPolicy) => Promise<JobQueue>): void {
  describe(`JobQueue contract: ${name}`, () => {
    let queue: JobQueue;
    let prefix: string;
    let n = 0;
    beforeEach(async () => {
      queue = await open();
      prefix = `t${Date.now()}-${++n}-`;
    });
    afterEach(async () => {
      await queue.close();
    });

    it('delivers every dispatched job to the consumer, jobs sent before and after consume', async () => {
      const seen: Job[] = [];
      await queue.dispatch({ taskId: `${prefix}early`, kind: 'text' });
      await queue.consume(async (job) => void seen.push(what(job)), { concurrency: 2 });
      for (let i = 0; i < 20; i++) await queue.dispatch({ taskId: `${prefix}${i}`, kind: i % 2 ? 'text' : 'images' });
      await until(() => seen.length >= 21);
      await tick(100);
      expect(seen).toHaveLength(21);
      expect(new Set(seen.map((j) => j.taskId)).size).toBe(21);
      expect(seen.find((j) => j.taskId === `${prefix}3`)).toEqual({ taskId: `${prefix}3`, kind: 'text' });
      expect(seen.find((j) => j.taskId === `${prefix}4`)).toEqual({ taskId: `${prefix}4`, kind: 'images' });
    });

    it('never runs more handlers at once than the concurrency', async () => {
      let running = 0;
      let peak = 0;
      let done = 0;
      await queue.consume(
        async () => {
          peak = Math.max(peak, ++running);
          await tick(20);
          running--;
          done++;
        },
        { concurrency: 3 },
      );
      for (let i = 0; i < 15; i++) await queue.dispatch({ taskId: `${prefix}${i}`, kind: 'text' });
      await until(() => done === 15);
      expect(peak).toBe(3);
    });

    it('close waits for running handlers to finish and starts no new ones', async () => {
      const started: string[] = [];
      const finished: string[] = [];
      await queue.consume(
        async (job) => {
          started.push(job.taskId);
          await tick(300);
          finished.push(job.taskId);
        },
        { concurrency: 1 },
      );
      for (let i = 0; i < 3; i++) await queue.dispatch({ taskId: `${prefix}${i}`, kind: 'text' });
      await until(() => started.length === 1);
      await queue.close();
      expect(finished).toEqual(started);
      expect(started).toHaveLength(1);
    });

    it('runs a job whose handler keeps failing maxAttempts times with a backoff between, then dead-letters it once', async () => {
      await queue.close();
      queue = await open(FAST_RETRY);
      const runs: Array<{ taskId: string; at: number }> = [];
      const dead: Array<{ job: Job; error: string }> = [];
      await queue.consume(
        async (job) => {
          runs.push({ taskId: job.taskId, at: Date.now() });
          if (job.taskId.endsWith('poison')) throw new Error(`cannot run ${job.taskId}`);
        },
        { concurrency: 2, onDeadLetter: async (job, err) => void dead.push({ job: what(job), error: (err as Error).message }) },
      );
      await queue.dispatch({ taskId: `${prefix}poison`, kind: 'images' });
      await queue.dispatch({ taskId: `${prefix}fine`, kind: 'text' });
      await until(() => dead.length === 1);
      await tick(500);
      const poisonRuns = runs.filter((r) => r.taskId === `${prefix}poison`);
      expect(poisonRuns).toHaveLength(FAST_RETRY.maxAttempts);
      for (let i = 1; i < poisonRuns.length; i++) expect(poisonRuns[i]!.at - poisonRuns[i - 1]!.at).toBeGreaterThanOrEqual(140);
      expect(runs.filter((r) => r.taskId === `${prefix}fine`)).toHaveLength(1);
      expect(dead).toEqual([{ job: { taskId: `${prefix}poison`, kind: 'images' }, error: `cannot run ${prefix}poison` }]);
    });

    it('retries a job that fails once and does not dead-letter it', async () => {
      await queue.close();
      queue = await open(FAST_RETRY);
      const runs: string[] = [];
      const dead: Job[] = [];
      await queue.consume(
        async (job) => {
          runs.push(job.taskId);
          if (runs.length === 1) throw new Error('store briefly down');
        },
        { concurrency: 1, onDeadLetter: async (job) => void dead.push(job) },
      );
      await queue.dispatch({ taskId: `${prefix}flaky`, kind: 'text' });
      await until(() => runs.length === 2);
      await tick(400);
      expect(runs).toEqual([`${prefix}flaky`, `${prefix}flaky`]);
      expect(dead).toEqual([]);
    });

    it('dead-letters at once a job whose handler throws DeadLetterError', async () => {
      await queue.close();
      queue = await open(FAST_RETRY);
      const runs: string[] = [];
      const dead: string[] = [];
      await queue.consume(
        async (job) => {
          runs.push(job.taskId);
          throw new DeadLetterError('the task gave up');
        },
        { concurrency: 1, onDeadLetter: async (job, err) => void dead.push(`${job.taskId}: ${(err as Error).message}`) },
      );
      await queue.dispatch({ taskId: `${prefix}hopeless`, kind: 'text' });
      await until(() => dead.length === 1);
      await tick(400);
      expect(runs).toEqual([`${prefix}hopeless`]);
      expect(dead).toEqual([`${prefix}hopeless: the task gave up`]);
    });

    it('keeps consuming after a handler fails', async () => {
      const seen: string[] = [];
      await queue.consume(
        async (job) => {
          seen.push(job.taskId);
          if (job.taskId.endsWith('bad')) throw new Error('handler failed');
        },
        { concurrency: 1 },
      );
      await queue.dispatch({ taskId: `${prefix}bad`, kind: 'text' });
      await queue.dispatch({ taskId: `${prefix}good`, kind: 'text' });
      await until(() => seen.includes(`${prefix}good`));
    });

    it('delivers a job dispatched through a reserved place', async () => {
      const seen: string[] = [];
      await queue.consume(async (job) => void seen.push(job.taskId), { concurrency: 1 });
      const place = queue.reserve();
      await place.dispatch({ taskId: `${prefix}reserved`, kind: 'text' });
      place.release(); // a no-op once dispatched
      await until(() => seen.includes(`${prefix}reserved`));
    });

    it('refuses a place, and a dispatch, once close has begun', async () => {
      await queue.close();
      expect(() => queue.reserve()).toThrow(QueueClosedError);
      await expect(queue.dispatch({ taskId: `${prefix}late`, kind: 'text' })).rejects.toBeInstanceOf(QueueClosedError);
    });
  });
}
