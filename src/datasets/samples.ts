/**
 * Dataset samples from a batch's records: one per stored image (first occurrence, by sha256 of the
 * original) and one per page text (first occurrence, by URL). Keys are derived from content (images) or
 * URL (texts), so they are stable across exports, and the order is the batch's: the same batch gives the
 * same samples. Every sample's metadata has the same keys (null when unknown): readers that infer a
 * schema (Parquet columns, HuggingFace's builders) see one shape.
 */
import { createHash } from 'node:crypto';
import type { ExportImageVariant } from '../models/batch.js';
import type { TaskKind } from '../models/task.js';
import type { StoredFile, TaskImage } from '../models/task.js';
import { presentMetadata, presentRights, withoutCredentials } from '../models/wire-fields.js';
import type { BatchRecord } from './batch-records.js';

/** The file an image sample carries: the original, or its resized copy. */
export interface ExportedFile {
  key: string;
  mime: string;
  bytes: number;
  width?: number;
  height?: number;
  /** Absent only for a resized copy listed before copies recorded theirs: the exporter hashes it then. */
  sha256?: string;
}

export interface ImageSample {
  kind: 'images';
  key: string;
  ext: string;
  file: ExportedFile;
  caption?: string;
  /** The image's dHash, for near-duplicate detection. */
  hash?: string;
  meta: Record<string, unknown>;
}

export interface TextSample {
  kind: 'text';
  key: string;
  text: string;
  /** The text's SimHash, for near-duplicate detection. */
  hash?: string;
  meta: Record<string, unknown>;
}

export type Sample = ImageSample | TextSample;

export interface SampleOptions {
  images: ExportImageVariant;
}

const KEY_HEX = 32;
const keyOf = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, KEY_HEX);

/** The file extension of a stored image, from its key (images/ab/<sha256>.<ext>, images/ab/<sha256>.<side>.<ext>). */
function extOf(key: string): string {
  const dot = key.lastIndexOf('.');
  const ext = dot > key.lastIndexOf('/') ? key.slice(dot + 1).toLowerCase() : '';
  return /^[a-z0-9]{1,8}$/.test(ext) ? ext : 'bin';
}

/** The original, or with `images: resized` the task's resized copy when it made one. */
function exportedFile(img: TaskImage, file: StoredFile, options: SampleOptions): { file: ExportedFile; variant: ExportImageVariant } {
  const copy = img.details?.resized;
  if (options.images === 'resized' && copy) return { file: copy, variant: 'resized' };
  return { file, variant: 'original' };
}

function textSample(task: BatchRecord['task'], text: string, key: string): TextSample {
  const page = task.page;
  return {
    kind: 'text', key, text, hash: page?.simhash,
    meta: {
      key, url: task.url, final_url: page ? withoutCredentials(page.finalUrl) : null, title: page?.title ?? null,
      http_status: page?.httpStatus ?? null, content_type: page?.contentType ?? null, format: task.format ?? 'text',
      chars: text.length, task_id: task.id, simhash: page?.simhash ?? null,
      metadata: presentMetadata(page?.metadata), rights: presentRights(page?.rights),
    },
  };
}

function imageSample(task: BatchRecord['task'], img: TaskImage, original: StoredFile, key: string, options: SampleOptions): ImageSample {
  const { file, variant } = exportedFile(img, original, options);
  const t = img.details?.text;
  return {
    kind: 'images', key, ext: extOf(file.key), file, caption: t?.caption, hash: original.phash,
    meta: {
      key, source_url: withoutCredentials(img.sourceUrl), page_url: task.url,
      sha256: file.sha256 ?? null, mime: file.mime, width: file.width ?? null, height: file.height ?? null, bytes: file.bytes,
      variant, original_sha256: original.sha256, task_id: task.id, position: img.position,
      alt: t?.alt ?? null, title: t?.title ?? null, figcaption: t?.figcaption ?? null, nearby_text: t?.nearby ?? null,
      caption: t?.caption ?? null, caption_source: t?.captionSource ?? null,
      phash: original.phash ?? null, rights: presentRights(img.details?.rights),
    },
  };
}

/** Samples of one kind, deduplicated within this export (exact copies: same URL, same image bytes). */
export async function* samplesOf(records: AsyncIterable<BatchRecord>, kind: TaskKind, options: SampleOptions): AsyncGenerator<Sample> {
  const seen = new Set<string>();
  for await (const { task, text, images } of records) {
    if (task.kind !== kind || task.status !== 'succeeded') continue;
    if (kind === 'text') {
      if (text === undefined) continue;
      const key = keyOf(task.url);
      if (seen.has(key)) continue;
      seen.add(key);
      yield textSample(task, text, key);
      continue;
    }
    for (const img of images ?? []) {
      const file = img.file;
      if (!file || img.outcome === 'failed' || img.outcome === 'skipped') continue;
      const key = file.sha256.slice(0, KEY_HEX);
      if (seen.has(key)) continue;
      seen.add(key);
      yield imageSample(task, img, file, key, options);
    }
  }
}
