/**
 * The decisions of the task store, as pure functions over a record: image claims (new, reuse, join,
 * refresh, failed-retry, stale takeover), image completion and release, finishing a task, image ids and
 * count folding. Each adapter only loads records, asks here, and saves what was decided through its record
 * port (`update(id, decide)` with optimistic concurrency: an IMMEDIATE transaction in SQLite, a revision
 * ticket in MongoDB). Lease, attempt and dispatch decisions live beside these in task-lease-rules.ts;
 * paging in paging.ts. Nothing here does I/O, so every adapter follows the same rules.
 */
import { createHash } from 'node:crypto';
import type {
  ClaimResult, ImageCounts, ImageOutcome, ImageRecord, ImageStatus, PageInfo, StoredFile, Task, TaskError, TaskKind,
} from './task.js';
import { mayFinish, type TaskPatch } from './task-lease-rules.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * An image's id, derived from its source URL, the same in every store: a claim finds its image by id (the
 * only filter FerretDB v1 answers from an index), and an id seen on one deployment names the same image on
 * another. 128 bits of SHA-256. Images stored before ids were derived keep their random ids; claims look
 * them up by source URL where the store can (SQLite), and every id stays readable.
 */
export function imageIdFor(sourceUrl: string): string {
  return createHash('sha256').update(sourceUrl, 'utf8').digest('hex').slice(0, 32);
}

/** What a task asks for when it claims an image. */
export interface ClaimRequest {
  /** The claiming task; it becomes the owner of a pending image. */
  taskId: string;
  /** Re-fetch an image stored (updatedAt) before this ISO time; a refresh task passes its own createdAt. */
  refreshStoredBefore?: string;
  /** A pending claim older than this (ms) is taken to be abandoned (its worker died) and may be taken over. */
  staleAfterMs: number;
}

/** Fields of an image record to change; null removes the field. `updatedAt` is always set. */
export interface ImagePatch {
  status?: ImageStatus;
  ownerTaskId?: string | null;
  claimedAt?: string | null;
  file?: StoredFile;
  error?: TaskError | null;
  updatedAt: string;
}

/** The record of a URL seen for the first time: pending, owned by the claiming task. */
export function newImageClaim(sourceUrl: string, request: ClaimRequest, nowMs: number): ImageRecord {
  const now = iso(nowMs);
  return { id: imageIdFor(sourceUrl), sourceUrl, status: 'pending', ownerTaskId: request.taskId, claimedAt: now, updatedAt: now };
}

/**
 * May this task take the image now? Yes when it failed (retry), when its pending claim is the task's own
 * (a redelivered task), has no owner (released) or went stale (its worker died), or when it was stored
 * before the task's refresh time. Else null: it is stored (reuse) or someone else is on it (join).
 */
export function decideClaim(image: ImageRecord, request: ClaimRequest, nowMs: number): ImagePatch | null {
  const staleBefore = nowMs - Math.max(0, request.staleAfterMs);
  const claimable =
    image.status === 'failed'
    || (image.status === 'pending'
      && (image.ownerTaskId === request.taskId || image.ownerTaskId === undefined || !image.claimedAt
        || Date.parse(image.claimedAt) < staleBefore))
    || (image.status === 'stored' && request.refreshStoredBefore !== undefined
      && Date.parse(image.updatedAt) < Date.parse(request.refreshStoredBefore));
  if (!claimable) return null;
  const now = iso(nowMs);
  return { status: 'pending', ownerTaskId: request.taskId, claimedAt: now, error: null, updatedAt: now };
}

/** The claim's answer, from the record as it stands after the decision and whether the claim changed it. */
export function claimResult(image: ImageRecord, claimed: boolean): ClaimResult {
  if (claimed) return { outcome: 'claimed', image };
  return { outcome: image.status === 'stored' ? 'stored' : 'in_progress', image };
}

export type ImageCompletion = { status: 'stored'; file: StoredFile } | { status: 'failed'; error: TaskError };

/**
 * Only the owner of a pending claim completes it, which clears the owner. A failure keeps the file of an
 * earlier store: blobs are content-addressed and stay readable.
 */
export function decideCompletion(image: ImageRecord, ownerTaskId: string, completion: ImageCompletion, nowMs: number): ImagePatch | null {
  if (image.status !== 'pending' || image.ownerTaskId !== ownerTaskId) return null;
  const done: ImagePatch = { status: completion.status, ownerTaskId: null, claimedAt: null, updatedAt: iso(nowMs) };
  return completion.status === 'stored' ? { ...done, file: completion.file, error: null } : { ...done, error: completion.error };
}

/** The owner gives its pending claim back without an outcome: pending with no owner, which the next claim takes at once. */
export function decideImageRelease(image: ImageRecord, ownerTaskId: string, nowMs: number): ImagePatch | null {
  if (image.status !== 'pending' || image.ownerTaskId !== ownerTaskId) return null;
  return { ownerTaskId: null, claimedAt: null, updatedAt: iso(nowMs) };
}

/** A patch applied to a record in memory (what the adapter saved, as the port returns it). */
export function applyImagePatch(image: ImageRecord, patch: ImagePatch): ImageRecord {
  const next: Record<string, unknown> = { ...image };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete next[key];
    else if (value !== undefined) next[key] = value;
  }
  return next as unknown as ImageRecord;
}

export interface FinishResult {
  status: 'succeeded' | 'failed';
  page?: PageInfo;
  error?: TaskError;
}

/** A task's final write, with `page` (absent: the earlier one stays); null when it is final or taken over (mayFinish). */
export function decideFinish(task: Task, result: FinishResult, owner: string | undefined, nowMs: number): TaskPatch | null {
  if (!mayFinish(task, owner)) return null;
  const now = iso(nowMs);
  const patch: TaskPatch = {
    status: result.status, finishedAt: now, updatedAt: now, error: result.error ?? null, lease: null, dispatchPendingSince: null,
  };
  if (result.page) patch.page = result.page;
  return patch;
}

/**
 * Can the task have image links to count? Links are written only by a task's runs, and every run counts an
 * attempt (a batch retry keeps the count), so a task never started has none: its counts are zeros, uncounted.
 */
export function mayHaveLinks(task: { kind: TaskKind; attempts: number }): boolean {
  return task.kind === 'images' && task.attempts > 0;
}

export function emptyCounts(): ImageCounts {
  return { found: 0, stored: 0, reused: 0, failed: 0, skipped: 0 };
}

/** Folds grouped link counts (one row per task and outcome) into each task's counts; `found` is their sum. */
export function foldCounts(rows: Iterable<{ taskId: string; outcome: ImageOutcome; n: number }>): Map<string, ImageCounts> {
  const map = new Map<string, ImageCounts>();
  for (const row of rows) {
    let counts = map.get(row.taskId);
    if (!counts) map.set(row.taskId, (counts = emptyCounts()));
    counts[row.outcome] += row.n;
    counts.found += row.n;
  }
  return map;
}
