import type { TaskKind } from '../models/task.js';

export interface Job {
  taskId: string;
  kind: TaskKind;
}

export type JobHandler = (job: Job) => Promise<void>;

/** Thrown by dispatch when a bounded queue has no room; the API answers 503 with Retry-After. */
export class QueueFullError extends Error {
  constructor(readonly capacity: number) {
    super(`queue is full (${capacity} jobs)`);
    this.name = 'QueueFullError';
  }
}

/**
 * The queue port: at-least-once delivery. A job is acknowledged only after the handler resolves
 * (the task's state is final), so handlers must be idempotent.
 */
export interface JobQueue {
  dispatch(job: Job): Promise<void>;
  consume(handler: JobHandler, options: { concurrency: number }): Promise<void>;
  /** Stops taking new jobs and waits for running handlers to finish. */
  close(): Promise<void>;
}
