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
 * (the task's state is final), so handlers must be idempotent.
 */
export interface JobQueue {
  dispatch(job: Job): Promise<void>;
  /**
   * Takes a place for one job now, or throws QueueFullError / QueueClosedError, so that the API refuses
   * work before storing a task rather than storing a task it then has to fail. A bounded queue holds the
   * place until dispatch or release.
   */
  reserve(): Reservation;
  consume(handler: JobHandler, options: { concurrency: number }): Promise<void>;
  /** Stops taking new jobs and waits for running handlers to finish. */
  close(): Promise<void>;
}
