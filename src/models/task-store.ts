import type { BatchStore } from './batch-store.js';
import type { FeedStore } from './feed-store.js';
import type { FrontierStore } from './frontier-store.js';
import type { WebhookStore } from './webhook-store.js';
import type { ApiKeyStore, RateCellStore, UsageStore } from './ops-store.js';
import type {
  ClaimResult, ImageCounts, ImageRecord, NewTask, Page, PageInfo, Task,
  TaskError, TaskImage, TaskKind, TaskStatus, TaskHead,
} from './task.js';
import type { LeaseRequest, StartOptions } from './task-lease-rules.js';
import type { ClaimRequest, ImageCompletion } from './task-rules.js';

export interface ListTasksQuery {
  kind: TaskKind;
  status?: TaskStatus;
  /** 1..1000 */
  limit: number;
  /** Opaque, from a previous page's nextCursor. */
  cursor?: string;
  /** Only tasks made with this API key (id); absent: everyone's. */
  owner?: string;
}

/** What a claiming task asks for (the rule: decideClaim in task-rules.ts). */
export type ClaimOptions = ClaimRequest;
export type { ImageCompletion };

/** How one image of a task ended, with what the task learned about it (its file is joined from the image record). */
export type ImageLink = Omit<TaskImage, 'file'>;

/** One image of a task settled: its claim completed (when the task downloaded it) and its link recorded. */
export interface ImageSettlement {
  link: ImageLink;
  /** Completes the claim of `link.taskId` on `link.imageId`; the link is written only if that claim was still the task's. */
  completion?: ImageCompletion;
}

export interface SettledImage {
  /** The image record as it stands after (null when unknown). */
  image: ImageRecord | null;
  /** False when the completion did not apply (the claim was no longer the task's): the link was not written. */
  linked: boolean;
}

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
 * Every write either takes effect or throws (a full disk included): a write that resolved is durable and
 * visible to the next reader; one that threw may or may not have taken effect, so callers retry it whole.
 */
export interface TaskStore {
  /** Batches of tasks and their exports, on the same database. */
  readonly batches: BatchStore;
  /** Crawl frontiers: the URLs each crawl found, admitted or not. */
  readonly frontier: FrontierStore;
  /** Tasks waiting for room in the in-process queue (standalone). */
  readonly feed: FeedStore;
  /** Webhook endpoints and their deliveries, on the same database (durable, shared by every process). */
  readonly webhooks: WebhookStore;
  /** API keys, kept beside the tasks they own. */
  readonly keys: ApiKeyStore;
  /** Usage counters, flushed in batches by the processes that count them. */
  readonly usage: UsageStore;
  /** Rate-limit cells, when the store is shared by several API processes (MongoDB); absent: limits stay in memory. */
  readonly rateCells?: RateCellStore;

  createTask(input: NewTask): Promise<Task>;
  getTask(id: string): Promise<Task | null>;
  /**
   * The few fields of a task that decide whether a cached answer still holds (owner, kind, version): a cheaper
   * read than getTask for the commonest request, a client polling a finished task. Optional: a store without
   * it is read in full.
   */
  getTaskHead?(id: string): Promise<TaskHead | null>;
  /** Newest first: (createdAt, id) descending. A limit outside 1..1000 throws RangeError; an unreadable cursor InvalidCursorError. */
  listTasks(query: ListTasksQuery): Promise<Page<Task>>;
  /** Tasks in `queued` or `running`, oldest first: what a restart must resume. */
  listUnfinished(kind?: TaskKind): Promise<Task[]>;

  /**
   * queued|running → running, attempts + 1. Null when the task is unknown or already final. With a lease the
   * caller holds the task for `lease.ms` (renewLease extends it); while another owner's lease is live the task
   * is returned unchanged (check `task.lease.owner`), and `reopenExhausted` restarts a task that gave up.
   */
  startTask(id: string, lease?: StartOptions): Promise<Task | null>;
  /**
   * startTask for each of a page's tasks (a job and its Job.siblings), as one batch where the store can
   * (MongoDB: one ticket insert and one update command for them all, instead of one each). Each result is what
   * startTask would return for its id.
   */
  startTasks(ids: readonly string[], lease: StartOptions): Promise<Map<string, Task | null>>;
  /** Extends the caller's lease on a running task; false when it no longer holds it (taken over, or final). */
  renewLease(id: string, lease: LeaseRequest): Promise<boolean>;
  /** running (held by `owner`) → queued with `error` as the last attempt's failure, for a retry; false if not held. */
  releaseTask(id: string, owner: string, error: TaskError): Promise<boolean>;
  /**
   * Clears dispatchPendingSince of each task: the queue confirmed a message for it. A no-op for a task already
   * clear (a started task was cleared by its start) or unknown. Several at once: the receipts of a burst of
   * dispatches cost one transaction, or a few commands, together.
   */
  markDispatched(ids: readonly string[]): Promise<void>;
  /**
   * Queued tasks whose dispatch has been unconfirmed for `olderThanMs` (oldest first, at most `limit`), each
   * taken atomically: its dispatchPendingSince restarts, so concurrent sweepers never take the same one.
   */
  takeUndispatched(query: { olderThanMs: number; limit: number }): Promise<Task[]>;
  /** Records the page text (text tasks) before the task is marked succeeded; overwrites. Throws for an unknown task. */
  saveText(id: string, text: string): Promise<void>;
  getText(id: string): Promise<string | null>;
  /**
   * queued|running → succeeded|failed with what was learned (queued too: a task may fail before it starts);
   * a no-op returning the task when it is already final; null when unknown. `page` left out keeps the earlier one.
   * With `owner`, also a no-op when another worker holds the task's lease (it took the task over). Drops the lease.
   */
  finishTask(id: string, result: { status: 'succeeded' | 'failed'; page?: PageInfo; error?: TaskError }, owner?: string): Promise<Task | null>;

  /**
   * Atomically: "yours to download" / "already stored" / "in progress elsewhere". 'claimed' when the URL is new,
   * its image failed, its pending claim is stale or already held by `taskId` (a redelivered task takes its
   * own claim back), or it was stored before `refreshStoredBefore`.
   */
  claimImage(sourceUrl: string, options: ClaimOptions): Promise<ClaimResult>;
  /**
   * claimImage for several URLs at once (the images of one page): one SQLite transaction, a few bulk
   * commands on MongoDB. Results in the order asked; a URL asked twice is claimed for the task both times.
   */
  claimImages(sourceUrls: readonly string[], options: ClaimOptions): Promise<ClaimResult[]>;
  /**
   * Only the owner of a pending claim can complete it; returns the record as it stands after (unchanged for
   * anyone else). Completing clears the owner; a failure keeps the file of an earlier store (blobs are
   * content-addressed and stay readable). Throws for an unknown image id.
   */
  completeImage(imageId: string, ownerTaskId: string, completion: ImageCompletion): Promise<ImageRecord>;
  /**
   * Gives up a pending claim of `ownerTaskId` without an outcome (its task failed for a reason of its own):
   * the image stays pending with no owner, and the next claim of it, or a task joined to it, takes it at once.
   * Returns the record as it stands after (unchanged for anyone but the owner); throws for an unknown image id.
   */
  releaseImage(imageId: string, ownerTaskId: string): Promise<ImageRecord>;
  getImage(imageId: string): Promise<ImageRecord | null>;

  /** Idempotent per (taskId, position): a retried task overwrites its earlier outcome. */
  linkImage(link: ImageLink): Promise<void>;
  /**
   * completeImage + linkImage for several images of one task at once (one transaction, or bulk writes),
   * with the same rules; results in the order given. Each item stands alone: one that is not applied
   * (`linked: false`) does not hold back the others.
   */
  settleImages(items: readonly ImageSettlement[]): Promise<SettledImage[]>;
  /** Ordered by position; `file` filled from the image record for stored/reused (not failed/skipped). Unreadable cursor: InvalidCursorError. */
  listTaskImages(taskId: string, query: { limit: number; cursor?: string }): Promise<Page<TaskImage>>;
  /**
   * Every image link of several tasks at once (one query, or one per collection), each task's ordered by
   * position, with `file` as listTaskImages fills it; a task without links maps to an empty list.
   */
  listImagesOfTasks(taskIds: readonly string[]): Promise<Map<string, TaskImage[]>>;
  /** The link at the lowest position when a task links the same image twice. */
  getTaskImage(taskId: string, imageId: string): Promise<TaskImage | null>;
  imageCounts(taskId: string): Promise<ImageCounts>;
  /** Forget the image outcomes of a task (a retried task starts its images afresh). */
  clearTaskImages(taskId: string): Promise<void>;

  close(): Promise<void>;
}

/** listImagesOfTasks's answer from links ordered by task then position: every task asked for, in the order asked. */
export function groupByTask(taskIds: readonly string[], links: readonly TaskImage[]): Map<string, TaskImage[]> {
  const out = new Map<string, TaskImage[]>(taskIds.map((id) => [id, []]));
  for (const link of links) out.get(link.taskId)?.push(link);
  return out;
}
