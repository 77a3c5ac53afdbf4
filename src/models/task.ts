/** Domain types shared by every adapter. Timestamps are ISO-8601 strings (UTC). */

export type TaskKind = 'text' | 'images';
export type TaskStatus = 'queued' | 'running' | 'succeeded' | 'failed';
export const TASK_STATUSES: readonly TaskStatus[] = ['queued', 'running', 'succeeded', 'failed'];

/** A typed, user-visible error: `code` is stable and machine-readable, `message` is for people. */
export interface TaskError {
  code: string;
  message: string;
  httpStatus?: number;
  address?: string;
}

/** What we learned about the fetched page. */
export interface PageInfo {
  finalUrl: string;
  httpStatus: number;
  contentType?: string;
  title?: string;
  bytes: number;
  /** For text tasks: length of the extracted text in characters. */
  textLength?: number;
  /** For images tasks: distinct images referenced by the page (more than were processed when over the per-page cap). */
  imagesDiscovered?: number;
  /** The proxy the page came through (credentials redacted); absent when fetched directly. */
  proxy?: string;
}

export interface ImageCounts {
  found: number;
  stored: number;
  reused: number;
  failed: number;
}

export interface Task {
  id: string;
  kind: TaskKind;
  url: string;
  status: TaskStatus;
  refresh: boolean;
  attempts: number;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: TaskError;
  page?: PageInfo;
  /** Only for images tasks. */
  counts?: ImageCounts;
  /** The worker running it and until when its claim holds unless renewed (running tasks started with a lease). */
  lease?: TaskLease;
  /**
   * Set while no dispatch of this queued task is confirmed: from its creation until the queue confirmed the
   * message, and again whenever the dispatch sweeper (re)sends it. See src/queue/dispatch-sweeper.ts.
   */
  dispatchPendingSince?: string;
}

export interface TaskLease {
  owner: string;
  /** ISO time */
  until: string;
}

export interface NewTask {
  kind: TaskKind;
  url: string;
  refresh: boolean;
}

/** An image file known to the service, one per source URL (unique). */
export type ImageStatus = 'pending' | 'stored' | 'failed';

export interface StoredFile {
  sha256: string;
  /** BlobStore key, content-addressed: images/ab/abcdef….png */
  key: string;
  mime: string;
  bytes: number;
  width?: number;
  height?: number;
}

export interface ImageRecord {
  id: string;
  sourceUrl: string;
  status: ImageStatus;
  /** Task currently downloading it (status pending). */
  ownerTaskId?: string;
  claimedAt?: string;
  updatedAt: string;
  file?: StoredFile;
  error?: TaskError;
}

/** How one image of one task ended. */
export type ImageOutcome = 'stored' | 'reused' | 'failed';

export interface TaskImage {
  taskId: string;
  /** Order of discovery on the page, from 0. */
  position: number;
  sourceUrl: string;
  imageId: string;
  outcome: ImageOutcome;
  error?: TaskError;
  file?: StoredFile;
}

export type ClaimResult =
  | { outcome: 'claimed'; image: ImageRecord }
  | { outcome: 'stored'; image: ImageRecord }
  | { outcome: 'in_progress'; image: ImageRecord };

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}
