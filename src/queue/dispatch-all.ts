/** Hands many jobs to a queue without a round trip each: dispatches overlap (RabbitMQ confirms are pipelined). */
import pLimit from 'p-limit';
import type { Job, JobQueue } from './job-queue.js';

const IN_FLIGHT = 256;

/**
 * Dispatches `jobs` in order, IN_FLIGHT at a time; after the first failure no further dispatch starts.
 * Returns the jobs that were not dispatched (in order) and the first error, so the caller can close them.
 */
export async function dispatchAll(queue: JobQueue, jobs: readonly Job[]): Promise<{ undispatched: Job[]; error?: unknown }> {
  const limit = pLimit(IN_FLIGHT);
  let error: unknown;
  const done = new Uint8Array(jobs.length);
  await Promise.all(jobs.map((job, i) => limit(async () => {
    if (error !== undefined) return;
    try {
      await queue.dispatch(job);
      done[i] = 1;
    } catch (err) {
      error ??= err;
    }
  })));
  if (error === undefined) return { undispatched: [] };
  return { undispatched: jobs.filter((_, i) => done[i] === 0), error };
}
