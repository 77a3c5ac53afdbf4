/**
 * Dataset samples from a batch's records: one per stored image (first occurrence, by sha256) and one per
 * page text (first occurrence, by URL). Keys are derived from content (images) or URL (texts), so they are
 * stable across exports, and the order is the batch's: the same batch gives the same samples.
 */
import { createHash } from 'node:crypto';
import type { TaskKind } from '../models/task.js';
import type { StoredFile, TaskImage } from '../models/task.js';
import type { BatchRecord } from './batch-records.js';

/** Image fields that describe the picture, when the extraction recorded them. */
const CAPTION_FIELDS = ['caption', 'alt', 'title', 'figcaption'] as const;

export interface ImageSample {
  kind: 'images';
  key: string;
  ext: string;
  file: StoredFile;
  caption?: string;
  meta: Record<string, unknown>;
}

export interface TextSample {
  kind: 'text';
  key: string;
  text: string;
  meta: Record<string, unknown>;
}

export type Sample = ImageSample | TextSample;

const KEY_HEX = 32;
const keyOf = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, KEY_HEX);

/** The file extension of a stored image, from its key (images/ab/<sha256>.<ext>). */
function extOf(file: StoredFile): string {
  const dot = file.key.lastIndexOf('.');
  const ext = dot > file.key.lastIndexOf('/') ? file.key.slice(dot + 1).toLowerCase() : '';
  return /^[a-z0-9]{1,8}$/.test(ext) ? ext : 'bin';
}

function captionsOf(img: TaskImage): Record<string, string> {
  const out: Record<string, string> = {};
  const fields = img as unknown as Record<string, unknown>;
  for (const f of CAPTION_FIELDS) {
    const v = fields[f];
    if (typeof v === 'string' && v.trim() !== '') out[f] = v;
  }
  return out;
}

/** Samples of one kind, deduplicated within this export. */
export async function* samplesOf(records: AsyncIterable<BatchRecord>, kind: TaskKind): AsyncGenerator<Sample> {
  const seen = new Set<string>();
  for await (const { task, text, images } of records) {
    if (task.kind !== kind || task.status !== 'succeeded') continue;
    if (kind === 'text') {
      if (text === undefined) continue;
      const key = keyOf(task.url);
      if (seen.has(key)) continue;
      seen.add(key);
      yield {
        kind: 'text', key, text,
        meta: {
          key, url: task.url, final_url: task.page?.finalUrl ?? null, title: task.page?.title ?? null,
          http_status: task.page?.httpStatus ?? null, content_type: task.page?.contentType ?? null,
          chars: text.length, task_id: task.id,
        },
      };
      continue;
    }
    for (const img of images ?? []) {
      const file = img.file;
      if (!file || img.outcome === 'failed') continue;
      const key = file.sha256.slice(0, KEY_HEX);
      if (seen.has(key)) continue;
      seen.add(key);
      const captions = captionsOf(img);
      yield {
        kind: 'images', key, ext: extOf(file), file, caption: captions.caption ?? captions.figcaption ?? captions.alt,
        meta: {
          key, source_url: img.sourceUrl, page_url: task.url, sha256: file.sha256, mime: file.mime,
          width: file.width ?? null, height: file.height ?? null, bytes: file.bytes, task_id: task.id, position: img.position,
          ...captions,
        },
      };
    }
  }
}
