/** The crawl frontier port; every TaskStore adapter offers one as `store.frontier`, on the same database as the tasks. */
import type { BatchJob } from './batch.js';
import type { CrawlCounters, FrontierCandidate } from './crawl.js';

export interface FrontierStore {
  /**
   * Records the candidates found by crawl batch `batchId`. A URL already in its frontier is skipped (a unique
   * key per batch and URL, so two workers adding one URL at once queue it once). A new URL is admitted while
   * fewer than max_pages pages are, exactly (never more, also under races), and gets one queued task per kind
   * of the batch, marked dispatch-pending (the outbox: the caller dispatches, a sweeper or feeder covers a
   * crash). Returns the jobs of the admitted pages; none for an unknown, cancelled or non-crawl batch.
   *
   * `recheck`: this call repeats one that may have died midway (the parent page's task runs again after a
   * crash). A URL found before but left without its page position or its tasks, for longer than a live call
   * takes, is completed now, so a crash loses no page. An adapter whose add is one transaction has nothing
   * half-done to complete.
   */
  add(batchId: string, candidates: readonly FrontierCandidate[], opts?: { recheck?: boolean }): Promise<BatchJob[]>;
  /** The depth a URL was found at in crawl `batchId`; null when it is not in its frontier. */
  depthOf(batchId: string, url: string): Promise<number | null>;
  /** Null for an unknown or non-crawl batch. */
  counters(batchId: string): Promise<CrawlCounters | null>;
}
