/**
 * Feeds the bounded in-process queue (standalone) from the store. Batch and crawl tasks are stored marked
 * as waiting (FeedStore) instead of being dispatched by the API or the crawler; the one feeder of the
 * process takes them, oldest first, whenever the queue runs below its target, so a batch larger than
 * QUEUE_CAPACITY is taken whole and runs at the queue's pace. At start every unfinished task is marked
 * waiting (the queue keeps nothing across restarts), so what was queued or running resumes in order.
 * The target is half the queue: the other half stays free for single tasks submitted meanwhile.
 */
import type { Logger } from '../logger.js';
import type { FeedStore } from '../models/feed-store.js';
import type { InlineQueue } from './inline-queue.js';
import type { Reservation } from './job-queue.js';

/** Tasks taken from the store per query. */
const CHUNK = 256;

export class StoreFeeder {
  private readonly target: number;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(private readonly store: FeedStore, private readonly queue: InlineQueue, private readonly log: Logger) {
    this.target = Math.max(1, Math.floor(queue.capacity / 2));
    queue.onRoom(() => {
      if (queue.size < this.target) this.poke();
    });
  }

  /** Whether the queue still takes work (not shutting down): the API refuses before storing otherwise. */
  get accepting(): boolean {
    return !this.stopped && !this.queue.isClosed;
  }

  /** Marks everything unfinished as waiting, then feeds: what the last run left queued or running resumes. */
  async start(): Promise<number> {
    const resumed = await this.store.markUnfinishedWaiting();
    if (resumed) this.log.info({ count: resumed }, 'resuming unfinished tasks');
    this.poke();
    return resumed;
  }

  /** New tasks are waiting, or room freed: feed soon (one pass at a time; a poke during a pass runs another). */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.feed()
      .catch((err: unknown) => this.log.error({ err }, 'feeding the queue from the store failed; retrying at the next poke'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  /** Resolves when the current pass ends (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async feed(): Promise<void> {
    while (!this.stopped) {
      const want = Math.min(CHUNK, this.target - this.queue.size);
      if (want <= 0) return;
      // Places first, so a job taken from the store always has one (the API may fill the queue meanwhile).
      const places: Reservation[] = [];
      try {
        while (places.length < want) places.push(this.queue.reserve());
      } catch {
        // Full or closing: feed what we hold; room frees later.
      }
      if (places.length === 0) return;
      let jobs;
      try {
        jobs = await this.store.takeWaiting(places.length);
      } catch (err) {
        for (const p of places) p.release();
        throw err;
      }
      for (const [i, job] of jobs.entries()) await places[i]?.dispatch(job);
      for (const p of places.slice(jobs.length)) p.release();
      if (jobs.length < places.length) return;
    }
  }
}
