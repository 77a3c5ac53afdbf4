/**
 * The embedded queue: in-process and bounded. Durability comes from the TaskStore, not from here:
 * at start the composition root re-dispatches every unfinished task (see resumeUnfinished).
 */
import pLimit from 'p-limit';
import { QueueClosedError, QueueFullError, type Job, type JobHandler, type JobQueue, type Reservation } from './job-queue.js';

export class InlineQueue implements JobQueue {
  private readonly pending: Job[] = [];
  private head = 0;
  private handler?: JobHandler;
  private limit?: ReturnType<typeof pLimit>;
  private running = 0;
  /** Places promised by reserve and not yet dispatched or released: they count against the capacity. */
  private reserved = 0;
  private closed = false;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    private readonly capacity: number,
    private readonly onError: (job: Job, err: unknown) => void = () => {},
  ) {}

  get size(): number {
    return this.pending.length - this.head;
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
    if (this.size + this.reserved >= this.capacity) throw new QueueFullError(this.capacity);
  }

  private enqueue(job: Job): void {
    this.pending.push(job);
    this.pump();
  }

  async consume(handler: JobHandler, options: { concurrency: number }): Promise<void> {
    if (this.handler) throw new Error('inline queue has one consumer');
    this.handler = handler;
    this.limit = pLimit(options.concurrency);
    this.pump();
  }

  private pump(): void {
    const { handler, limit } = this;
    if (!handler || !limit || this.closed) return;
    // Hand jobs to p-limit only as slots free up, so the bounded array stays the queue.
    while (this.size > 0 && limit.activeCount + limit.pendingCount < limit.concurrency) {
      const job = this.pending[this.head++] as Job;
      if (this.head > 1024 && this.head * 2 > this.pending.length) {
        this.pending.splice(0, this.head);
        this.head = 0;
      }
      this.running++;
      void limit(() => handler(job))
        .catch((err: unknown) => this.onError(job, err))
        .finally(() => {
          this.running--;
          if (this.running === 0) this.idleWaiters.splice(0).forEach((w) => w());
          this.pump();
        });
    }
  }

  /** Resolves when nothing is running and nothing waits (tests, benchmarks). */
  async drained(): Promise<void> {
    if (this.running === 0 && this.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    return this.drained();
  }

  async close(): Promise<void> {
    this.closed = true;
    // Queued jobs stay unfinished in the TaskStore and are resumed at the next start.
    if (this.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}
