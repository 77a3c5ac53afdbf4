/** Marks the jobs of one page as page-mates (Job.siblings), so one worker can run them all off one fetch. */
import type { BatchJob } from '../models/batch.js';
import type { Job } from './job-queue.js';

/**
 * `jobs` as createBatch returns them: URL by URL, each URL's kinds together (`kindsPerUrl` of them, the
 * order the store contract promises). Each job names the other jobs of its URL; one kind alone has none.
 */
export function withPageSiblings(jobs: readonly BatchJob[], kindsPerUrl: number): Job[] {
  if (kindsPerUrl < 2) return [...jobs];
  return jobs.map((job, i) => {
    const first = i - (i % kindsPerUrl);
    const siblings = jobs.slice(first, first + kindsPerUrl).filter((_, j) => first + j !== i).map((j) => j.taskId);
    return siblings.length ? { ...job, siblings } : { ...job };
  });
}
