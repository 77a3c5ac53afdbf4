/**
 * The embedded queue: in-process and bounded. Durability comes from the TaskStore, not from here:
 * at start the composition root re-dispatches every unfinished task (see resumeUnfinished).
 * A job whose handler throws waits out a backoff off the concurrency slots, then runs again (see job-queue.ts).
 */
import pLimit from 'p-limit';
import { backoffDelay } from '../util/backoff.js';
import {
  DEFAULT_RETRY_POLICY, QueueClosedError, QueueFullError, isLastAttempt, type ConsumeOptions, type Job, type JobHandler, type JobQueue, type Reservation, type RetryPolicy,
} from './job-queue.js';

interface Entry {
  job: Job;
  /** Runs so far. */
  attempts: number;
}

export class InlineQueue implements JobQueue {
  private readonly pending: Entry[] = [];
  private head = 0;
  private handler?: JobHandler;
  private onDeadLetter?: ConsumeOptions['onDeadLetter'];
  private limit?: ReturnType<typeof pLimit>;
  private running = 0;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** Places promised by reserve and not yet dispatched or released: they count against the capacity. */
  private reserved = 0;
  private closed = false;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly roomListeners: Array<() => void> = [];

  constructor(
    private readonly maxJobs: number,
    private readonly onError: (job: Job, err: unknown) => void = () => {},
    private readonly retry: RetryPolicy = DEFAULT_RETRY_POLICY,
  ) {}

  get size(): number {
    return this.pending.length - this.head;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Jobs waiting to run at most (the bound dispatch and reserve enforce). */
  get capacity(): number {
    return this.maxJobs;
  }

  /** Called each time a job ends, so that a feeder can top the queue up from the store. */
  onRoom(listener: () => void): void {
    this.roomListeners.push(listener);
  }

  async dispatch(job: Job): Promise<void> {
    this.admit();
    this.enqueue(job);
  }

  reserve(): Reservation {
    this.admit();
    this.reserved++;
    let held = true;
    const giveBack = () => {
      if (held) this.reserved--;
      held = false;
    };
    return {
      // A place once given is kept even if close began meanwhile: the task is stored as queued, so the
      // job waits here unstarted and the store resumes it at the next start; the client was told yes.
      dispatch: async (job) => {
        giveBack();
        this.enqueue(job);
      },
      release: giveBack,
    };
  }

  private admit(): void {
    if (this.closed) throw new QueueClosedError();
    if (this.size + this.reserved >= this.maxJobs) throw new QueueFullError(this.maxJobs);
  }

  private enqueue(job: Job): void {
    this.pending.push({ job, attempts: 0 });
    this.pump();
  }

  async consume(handler: JobHandler, options: ConsumeOptions): Promise<void> {
    if (this.handler) throw new Error('inline queue has one consumer');
    this.handler = handler;
    this.onDeadLetter = options.onDeadLetter;
    this.limit = pLimit(options.concurrency);
    this.pump();
  }

  private pump(): void {
    const { handler, limit } = this;
    if (!handler || !limit || this.closed) return;
    // Hand jobs to p-limit only as slots free up, so the bounded array stays the queue.
    while (this.size > 0 && limit.activeCount + limit.pendingCount < limit.concurrency) {
      const entry = this.pending[this.head++] as Entry;
      if (this.head > 1024 && this.head * 2 > this.pending.length) {
        this.pending.splice(0, this.head);
        this.head = 0;
      }
      this.running++;
      void limit(() => this.run(handler, entry)).finally(() => {
        this.running--;
        this.wakeIdle();
        this.pump();
        for (const listener of this.roomListeners) listener();
      });
    }
  }

  private async run(handler: JobHandler, entry: Entry): Promise<void> {
    entry.attempts++;
    try {
      await handler(entry.job);
    } catch (err) {
      this.onError(entry.job, err);
      // Shutting down: the task stays unfinished in the store and resumes at the next start.
      if (this.closed) return;
      if (isLastAttempt(err, entry.attempts, this.retry)) {
        await this.onDeadLetter?.(entry.job, err).catch((deadErr: unknown) => this.onError(entry.job, deadErr));
        return;
      }
      this.retryLater(entry);
    }
  }

  /** A retry does not count against the capacity: the job was admitted once already. */
  private retryLater(entry: Entry): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (this.closed) return this.wakeIdle();
      this.pending.push(entry);
      this.pump();
    }, backoffDelay(entry.attempts - 1, this.retry.backoff));
    this.retryTimers.add(timer);
  }

  private wakeIdle(): void {
    if (this.running === 0 && (this.retryTimers.size === 0 || this.closed)) this.idleWaiters.splice(0).forEach((w) => w());
  }

  /** Resolves when nothing is running, waiting or due for a retry (tests, benchmarks). */
  async drained(): Promise<void> {
    if (this.running === 0 && this.size === 0 && this.retryTimers.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    return this.drained();
  }

  async close(): Promise<void> {
    this.closed = true;
    // Queued jobs and those waiting for a retry stay unfinished in the TaskStore and are resumed at the next start.
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    if (this.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}
