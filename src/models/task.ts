/** Domain types shared by every adapter. Timestamps are ISO-8601 strings (UTC). */
import type { RightsRecord, RightsSignal } from './rights.js';

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

/** What a text task stores: the whole page's text, its main content, or the main content as Markdown. */
export type TextFormat = 'text' | 'main' | 'markdown';
export const TEXT_FORMATS: readonly TextFormat[] = ['text', 'main', 'markdown'];

/** What the page says about itself (see src/scrape/metadata.ts); every field may be absent. */
export interface PageMetadata {
  title?: string;
  description?: string;
  author?: string;
  /** As the page gives it, normalised to ISO 8601 when it parses as a date. */
  published?: string;
  canonicalUrl?: string;
  siteName?: string;
  /** A licence URL: rel=license, or a Creative Commons licence link, or a JSON-LD `license`. */
  license?: string;
  /** ISO 639-1 code of the main text (see language.ts), else of <html lang>. */
  language?: string;
  /** Words in the main text. */
  wordCount?: number;
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
  /** For text tasks: title, author, dates, licence, language… of the page. */
  metadata?: PageMetadata;
  /** What the site said about AI training of this page (absent with RIGHTS_POLICY=off). */
  rights?: RightsRecord;
  /** For text tasks: 64-bit SimHash of the stored text, 16 hex digits (src/scrape/simhash.ts). */
  simhash?: string;
}

/** An images task keeps only images that pass all of these (docs/images.md). */
export interface ImageFilters {
  minWidth?: number;
  minHeight?: number;
  /** Longer side over shorter side, at most this (≥ 1). */
  maxAspectRatio?: number;
  /** Allowed sniffed MIME types, lower case. */
  mimeTypes?: string[];
}

export type ResizeFormat = 'webp' | 'jpeg' | 'png';

export interface ResizeOptions {
  /** The longer side of the copy, in pixels; smaller images are not enlarged. */
  maxSide: number;
  format: ResizeFormat;
}

export interface ImagesTaskOptions {
  filters?: ImageFilters;
  resize?: ResizeOptions;
}

export interface ImageCounts {
  found: number;
  stored: number;
  reused: number;
  failed: number;
  /** Filtered out, or reserved under RIGHTS_POLICY=respect: listed, bytes not kept. */
  skipped: number;
}

export interface Task {
  id: string;
  kind: TaskKind;
  url: string;
  status: TaskStatus;
  refresh: boolean;
  /** Only for text tasks: the format of the stored text (absent: `text`). */
  format?: TextFormat;
  attempts: number;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: TaskError;
  page?: PageInfo;
  /** Only for images tasks. */
  counts?: ImageCounts;
  /** The id of the API key that made it (AUTH=keys); absent when made without one. */
  owner?: string;
  /** Only for images tasks, when given. */
  options?: ImagesTaskOptions;
  /** The batch the task was submitted in, and its position there (from 0). */
  batchId?: string;
  batchSeq?: number;
  /** The worker running it and until when its claim holds unless renewed (running tasks started with a lease). */
  lease?: TaskLease;
  /**
   * Set while no dispatch of this queued task is confirmed: from its creation until the queue confirmed the
   * message, and again whenever the dispatch sweeper (re)sends it. See src/queue/dispatch-sweeper.ts.
   */
  dispatchPendingSince?: string;
  /**
   * Whether the task has a webhook endpoint of its own (given with it, set before its dispatch): `false` lets a
   * worker skip looking one up. Absent: not recorded (a store that does not keep it, or a task made before it
   * did), so the endpoint is looked up.
   */
  hasWebhook?: boolean;
}

/** What decides a read of a task without the rest of it: whose it is, and which version (see api/finished-task-bodies.ts). */
export type TaskHead = Pick<Task, 'id' | 'kind' | 'status' | 'attempts' | 'updatedAt' | 'owner'>;

export interface TaskLease {
  owner: string;
  /** ISO time */
  until: string;
}

export interface NewTask {
  kind: TaskKind;
  url: string;
  refresh: boolean;
  format?: TextFormat;
  owner?: string;
  options?: ImagesTaskOptions;
  /** Whether an endpoint of its own is set for it before its dispatch (Task.hasWebhook). */
  hasWebhook?: boolean;
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
  /** 64-bit perceptual hash (dHash), 16 hex digits; absent when the format cannot be decoded (src/scrape/image-hash.ts). */
  phash?: string;
  /** Rights signals of the image's own response (X-Robots-Tag, TDMRep headers): they belong to the file as served. */
  headerSignals?: RightsSignal[];
}

/** A resized copy of a stored image, next to it in the blob store. */
export interface ResizedFile {
  key: string;
  mime: string;
  bytes: number;
  width: number;
  height: number;
  /** Of the copy's bytes (absent on copies listed before it was recorded). */
  sha256?: string;
}

/** The text that goes with an image on one page (src/scrape/image-texts.ts has the caption rule). */
export interface ImageText {
  alt?: string;
  title?: string;
  figcaption?: string;
  nearby?: string;
  caption?: string;
  captionSource?: 'figcaption' | 'alt' | 'title';
}

/** What a task learned about one of its images beyond its outcome. */
export interface TaskImageDetails {
  text?: ImageText;
  rights?: RightsRecord;
  resized?: ResizedFile;
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
export type ImageOutcome = 'stored' | 'reused' | 'failed' | 'skipped';
export const IMAGE_OUTCOMES: readonly ImageOutcome[] = ['stored', 'reused', 'failed', 'skipped'];

export interface TaskImage {
  taskId: string;
  /** Order of discovery on the page, from 0. */
  position: number;
  sourceUrl: string;
  imageId: string;
  outcome: ImageOutcome;
  /** Why it failed, or (outcome skipped) why it was not kept: code `filtered` or `rights_reserved`. */
  error?: TaskError;
  file?: StoredFile;
  details?: TaskImageDetails;
}

export type ClaimResult =
  | { outcome: 'claimed'; image: ImageRecord }
  | { outcome: 'stored'; image: ImageRecord }
  | { outcome: 'in_progress'; image: ImageRecord };

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/** Options given to many tasks at once (a batch, a crawl's pages): each kind takes its own. */
export interface KindOptions {
  format?: TextFormat;
  options?: ImagesTaskOptions;
}

/** What a task of `kind` keeps of `given`: a text task its format, an images task its images options. */
export function optionsOfKind(kind: TaskKind, given: KindOptions): KindOptions {
  if (kind === 'text') return given.format ? { format: given.format } : {};
  return given.options ? { options: given.options } : {};
}
