/**
 * The backlog of the bounded in-process queue (standalone): tasks waiting for room are marked in the store
 * (`dispatchPendingSince`, the field RabbitMQ's outbox uses in cluster mode), so a batch or crawl larger than
 * the queue is kept whole in the store and survives a restart. Every TaskStore adapter offers it as `store.feed`.
 */
import type { BatchJob } from './batch.js';

export interface FeedStore {
  /** Up to `limit` waiting unfinished tasks, oldest mark first (then id), each unmarked as it is taken. */
  takeWaiting(limit: number): Promise<BatchJob[]>;
  /** Marks these tasks waiting (a batch retry re-queues them this way); final tasks are left alone. */
  markWaiting(taskIds: readonly string[]): Promise<void>;
  /** Marks every queued or running task waiting: at start, nothing is in the in-process queue. Returns how many. */
  markUnfinishedWaiting(): Promise<number>;
}
