/** The batch and export part of the persistence port; every TaskStore adapter offers one as `store.batches`. */
import type {
  BatchJob, BatchWithProgress, ExportOptions, ExportRecord, ExportShard, ExportStats, NewBatch,
} from './batch.js';
import type { Page, Task, TaskStatus } from './task.js';

export interface BatchTasksQuery {
  /** One status, or `finished` for succeeded and failed alike. */
  status?: TaskStatus | 'finished';
  /** 1..1000 */
  limit: number;
  /** Opaque, from a previous page's nextCursor (the position in the batch of its last task). */
  cursor?: string;
}

export type ExportResult =
  | { status: 'succeeded'; shards: ExportShard[]; stats: ExportStats }
  | { status: 'failed'; error: { code: string; message: string } };

export interface BatchStore {
  /**
   * Creates the batch and one queued task per (URL, kind), URL-major, all at once or not at all, each
   * dispatch-pending (the feeder's backlog standalone; the outbox with RabbitMQ, whose receipts clear it and
   * whose sweeper dispatches what a crashed API never did). Returns the jobs to dispatch, in submission order.
   */
  createBatch(input: NewBatch): Promise<{ batch: BatchWithProgress; jobs: BatchJob[] }>;
  getBatch(id: string): Promise<BatchWithProgress | null>;
  /**
   * Newest first; only `owner`'s when given. A limit outside 1..1000 throws RangeError; an unreadable
   * cursor InvalidCursorError.
   */
  listBatches(query: { limit: number; cursor?: string; owner?: string }): Promise<Page<BatchWithProgress>>;
  /** The batch's tasks in submission order (`batchSeq` ascending). */
  listBatchTasks(batchId: string, query: BatchTasksQuery): Promise<Page<Task>>;
  /**
   * Marks the batch cancelled and fails each of its still queued tasks with error code `cancelled`
   * (running ones finish). Null for an unknown batch.
   */
  cancelBatch(id: string): Promise<{ batch: BatchWithProgress; cancelled: number } | null>;
  /**
   * failed → queued for every failed task of the batch that was not cancelled (error and finish cleared,
   * attempts kept), dispatch-pending as a new task is. Returns the jobs to dispatch; null for an unknown batch.
   */
  retryBatch(id: string): Promise<BatchJob[] | null>;

  createExport(batchId: string, options: ExportOptions): Promise<ExportRecord>;
  /** running → succeeded | failed with its shards and stats; a no-op on a final export. Null when unknown. */
  finishExport(id: string, result: ExportResult): Promise<ExportRecord | null>;
  getExport(id: string): Promise<ExportRecord | null>;
  /** A running export's heartbeat, from the process building it: heartbeatAt = now. False when it is final or unknown. */
  touchExport(id: string): Promise<boolean>;
  /**
   * Every export still running → failed with `error`; returns how many. For a process that starts alone
   * (standalone): the exports it finds running died with the process before it.
   */
  failRunningExports(error: { code: string; message: string }): Promise<number>;
}
