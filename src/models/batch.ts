/** Domain types of batches (many tasks submitted at once) and of their dataset exports. */
import type { ImagesTaskOptions, TaskKind, TaskStatus, TextFormat } from './task.js';
import type { CrawlSpec } from './crawl.js';

/** The error code a task cancelled with its batch fails with; a batch retry leaves such tasks alone. */
export const CANCELLED = 'cancelled';

export interface NewBatch {
  kinds: TaskKind[];
  refresh: boolean;
  /** Validated absolute http(s) URLs, in submission order; each gets one task per kind. A crawl's is its start URL. */
  urls: readonly string[];
  /** Given to each text task of the batch (absent: the whole page's text). */
  format?: TextFormat;
  /** Given to each images task of the batch. */
  options?: ImagesTaskOptions;
  /** A crawl: its start URL (the only URL) enters the frontier at depth 0 as page 0. */
  crawl?: CrawlSpec;
  /** The API key that made it (absent with AUTH=off); its tasks belong to that key too. */
  owner?: string;
}

export interface Batch {
  id: string;
  kinds: TaskKind[];
  refresh: boolean;
  urlCount: number;
  taskCount: number;
  createdAt: string;
  cancelledAt?: string;
  /** A crawl's spec; its urlCount and taskCount grow as pages are admitted. */
  crawl?: CrawlSpec;
  /** The API key that made it; it and admin keys see the batch, its tasks and its exports. */
  owner?: string;
}

export interface BatchProgress {
  counts: Record<TaskStatus, number>;
  /** Earliest start of any of its tasks. */
  startedAt?: string;
  /** Latest finish of any of its tasks. */
  lastFinishedAt?: string;
}

export type BatchWithProgress = Batch & { progress: BatchProgress };

/** A task to hand to the queue. */
export interface BatchJob {
  taskId: string;
  kind: TaskKind;
}

export type ExportFormat = 'webdataset' | 'parquet' | 'jsonl';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['webdataset', 'parquet', 'jsonl'];
export type ExportStatus = 'running' | 'succeeded' | 'failed';

export interface ShardStats {
  samples: number;
  images: number;
  texts: number;
  /** Bytes of image files in the shard. */
  imageBytes: number;
  /** Bytes of text in the shard (UTF-8). */
  textBytes: number;
}

export interface ExportShard {
  index: number;
  /** BlobStore key. */
  key: string;
  records: number;
  bytes: number;
  sha256: string;
  stats: ShardStats;
}

export interface ExportOptions {
  format: ExportFormat;
  /** Samples per shard at most. */
  shardSamples: number;
  /** A shard is closed once it holds at least this many bytes. */
  shardBytes: number;
  /** Parquet only: put the image bytes in an `image` column. */
  includeImages: boolean;
  /** Which file an image sample carries: the original, or the task's resized copy (absent: original). */
  images?: ExportImageVariant;
  /** Drop a sample whose hash is within this Hamming distance of a sample already exported (docs/near-duplicates.md). */
  nearDuplicates?: NearDuplicateOptions;
}

export type ExportImageVariant = 'original' | 'resized';

export interface NearDuplicateOptions {
  /** Max distance between two images' dHashes (`phash`); absent: images are not compared. */
  images?: number;
  /** Max distance between two texts' SimHashes; absent: texts are not compared. */
  text?: number;
}

/** What an export left out or replaced, over all its shards. */
export interface ExportStats {
  /** Samples dropped as near-duplicates of an earlier sample, per kind. */
  nearDuplicatesDropped: { images: number; text: number };
  /** With `images: resized`: image samples exported as their resized copy, and those that had none (exported as the original). */
  imagesResized: number;
  imagesWithoutResized: number;
}

export interface ExportRecord {
  id: string;
  batchId: string;
  options: ExportOptions;
  status: ExportStatus;
  createdAt: string;
  finishedAt?: string;
  /** While running: when its builder last said it is alive (export-liveness.ts); absent on exports made before it was kept. */
  heartbeatAt?: string;
  shards: ExportShard[];
  /** Set once it succeeded (absent on exports made before these were counted). */
  stats?: ExportStats;
  error?: { code: string; message: string };
}
