import type {
  ClaimResult, ImageCounts, ImageOutcome, ImageRecord, NewTask, Page, PageInfo, StoredFile, Task,
  TaskError, TaskImage, TaskKind, TaskStatus,
} from './task.js';

export interface ListTasksQuery {
  kind: TaskKind;
  status?: TaskStatus;
  /** 1..1000 */
  limit: number;
  /** Opaque, from a previous page's nextCursor. */
  cursor?: string;
}

export interface ClaimOptions {
  /** The claiming task; it becomes the owner of a pending image. */
  taskId: string;
  /** Re-fetch an image stored before `notBefore` (ISO time, the task's creation). */
  refreshStoredBefore?: string;
  /** A pending claim older than this (ms) is taken to be abandoned (its worker died) and may be taken over. */
  staleAfterMs: number;
}

export type ImageCompletion = { status: 'stored'; file: StoredFile } | { status: 'failed'; error: TaskError };

/** Thrown by a store for an opaque cursor it cannot read. */
export class InvalidCursorError extends Error {
  constructor() {
    super('invalid cursor');
    this.name = 'InvalidCursorError';
  }
}

/**
 * The persistence port. Every method is safe to call concurrently from many processes:
 * dedupe rests on a unique index on the image source URL, not on in-process locks.
 */
export interface TaskStore {
  createTask(input: NewTask): Promise<Task>;
  getTask(id: string): Promise<Task | null>;
  /** Newest first. */
  listTasks(query: ListTasksQuery): Promise<Page<Task>>;
  /** Tasks in `queued` or `running`, oldest first: what a restart must resume. */
  listUnfinished(kind?: TaskKind): Promise<Task[]>;

  /** queued|running → running, attempts + 1. Null when the task is unknown or already final. */
  startTask(id: string): Promise<Task | null>;
  /** Records the page text (text tasks) before the task is marked succeeded. */
  saveText(id: string, text: string): Promise<void>;
  getText(id: string): Promise<string | null>;
  /** running → succeeded|failed with what was learned; a no-op on a task already final. */
  finishTask(id: string, result: { status: 'succeeded' | 'failed'; page?: PageInfo; error?: TaskError }): Promise<Task | null>;

  /** Atomically: "yours to download" / "already stored" / "in progress elsewhere". */
  claimImage(sourceUrl: string, options: ClaimOptions): Promise<ClaimResult>;
  /** Only the owner of a pending claim can complete it; returns the record as it stands after. */
  completeImage(imageId: string, ownerTaskId: string, completion: ImageCompletion): Promise<ImageRecord>;
  getImage(imageId: string): Promise<ImageRecord | null>;

  /** Idempotent per (taskId, position): a retried task overwrites its earlier outcome. */
  linkImage(link: { taskId: string; position: number; sourceUrl: string; imageId: string; outcome: ImageOutcome; error?: TaskError }): Promise<void>;
  /** Ordered by position; `file` filled from the image record for stored/reused. */
  listTaskImages(taskId: string, query: { limit: number; cursor?: string }): Promise<Page<TaskImage>>;
  getTaskImage(taskId: string, imageId: string): Promise<TaskImage | null>;
  imageCounts(taskId: string): Promise<ImageCounts>;
  /** Forget the image outcomes of a task (a retried task starts its images afresh). */
  clearTaskImages(taskId: string): Promise<void>;

  close(): Promise<void>;
}
