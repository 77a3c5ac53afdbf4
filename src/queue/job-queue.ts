import type { TaskKind } from '../models/task.js';
import type { Backoff } from '../util/backoff.js';

export interface Job {
  taskId: string;
  kind: TaskKind;
  /** An operator sent it again from the dead-letter queue: a task that gave up may start afresh. */
  replayed?: boolean;
  /**
   * The other tasks of the same page (a batch's text and images tasks of one URL): the worker that runs this
   * job runs them too, off the same fetch (docs/decisions.md, "Page-mates"). They have no message of their own:
   * this job is acknowledged only once every task it started is final, so its message covers them.
   */
  siblings?: readonly string[];
  /**
   * The broker says no consumer was handed this message before (RabbitMQ's redelivered flag unset). Such a
   * message (not a retry) leaves a task another live worker holds to that worker: it holds a message for the
   * task which the broker redelivers if it dies. Unset (the embedded queue, a redelivery): the job waits for
   * the holder's end or its lease's.
   */
  firstDelivery?: boolean;
  /** A retry of a job whose handler threw (Celery's `retries` header above 0). */
  retried?: boolean;
}

/**
 * What a handler may tell its queue while it runs. `workDone`: the job's fetching and processing are over and
 * only its final store writes remain, so a queue that bounds jobs at work may start the next one meanwhile
 * (the message is still acknowledged only when the handler resolves). Queues that do not bound this way ignore it.
 */
export interface JobProgress {
  workDone(): void;
}

export type JobHandler = (job: Job, progress?: JobProgress) => Promise<void>;

export interface ConsumeOptions {
  concurrency: number;
  /**
   * Called once when the queue gives up on a job (its handler failed maxAttempts times, or threw
   * DeadLetterError), before the job is dead-lettered; the worker marks its task failed here.
   */
  onDeadLetter?(job: Job, error: unknown): Promise<void>;
}

/** How a queue retries a job whose handler threw: at most `maxAttempts` runs, waiting `backoff` between them. */
export interface RetryPolicy {
  maxAttempts: number;
  backoff: Backoff;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, backoff: { strategy: 'exponential', minMs: 1_000, maxMs: 60_000 } };

/** Thrown by dispatch when a bounded queue has no room; the API answers 503 with Retry-After. */
export class QueueFullError extends Error {
  constructor(readonly capacity: number) {
    super(`queue is full (${capacity} jobs)`);
    this.name = 'QueueFullError';
  }
}

/** Thrown by a handler for a job that must not run again: the queue dead-letters it at once. */
export class DeadLetterError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeadLetterError';
  }
}

/** Thrown by reserve and dispatch once close has begun (shutdown). */
export class QueueClosedError extends Error {
  constructor() {
    super('queue is closed');
    this.name = 'QueueClosedError';
  }
}

/** A place in the queue for one job, taken before its task is stored: dispatch it, or release it. */
export interface Reservation {
  dispatch(job: Job): Promise<void>;
  /** Gives the place back unused (storing the task failed); a no-op after dispatch. */
  release(): void;
}

/**
 * The queue port: at-least-once delivery. A job is acknowledged only after the handler resolves
 * (the task's state is final), so handlers must be idempotent. A handler that throws is run again
 * after a backoff, up to the policy's maxAttempts runs in all; then (or at once on DeadLetterError)
 * the queue calls onDeadLetter and dead-letters the job: RabbitMQ keeps it in a dead-letter queue
 * for an operator to inspect and replay, the embedded queue drops it (its task is failed in the store).
 */
export interface JobQueue {
  dispatch(job: Job): Promise<void>;
  /**
   * Takes a place for one job now, or throws QueueFullError / QueueClosedError, so that the API refuses
   * work before storing a task rather than storing a task it then has to fail. A bounded queue holds the
   * place until dispatch or release.
   */
  reserve(): Reservation;
  consume(handler: JobHandler, options: ConsumeOptions): Promise<void>;
  /** Stops taking new jobs and waits for running handlers to finish. */
  close(): Promise<void>;
}

/** Whether the queue should give up on a job after its handler threw on run number `attempt` (1-based). */
export function isLastAttempt(err: unknown, attempt: number, policy: RetryPolicy): boolean {
  return err instanceof DeadLetterError || attempt >= policy.maxAttempts;
}
