/** One job per page for a batch's tasks of one URL: the lead job names its page-mates (Job.siblings), which have no message of their own. */
import type { BatchJob } from '../models/batch.js';
import type { Job } from './job-queue.js';

/**
 * `jobs` as createBatch returns them: URL by URL, each URL's kinds together (`kindsPerUrl` of them, the
 * order the store contract promises). Each URL's first job leads and names the others as its siblings; one
 * kind alone gives each task its own job, without siblings.
 */
export function pageJobs(jobs: readonly BatchJob[], kindsPerUrl: number): Job[] {
  if (kindsPerUrl < 2) return jobs.map((job) => ({ ...job }));
  const pages: Job[] = [];
  for (let first = 0; first < jobs.length; first += kindsPerUrl) {
    const [lead, ...mates] = jobs.slice(first, first + kindsPerUrl) as [BatchJob, ...BatchJob[]];
    pages.push(mates.length ? { ...lead, siblings: mates.map((m) => m.taskId) } : { ...lead });
  }
  return pages;
}

/** The tasks a job covers: its own, then its page-mates. */
export function tasksOf(job: Job): string[] {
  return [...new Set([job.taskId, ...(job.siblings ?? [])])];
}
